// Kiln dashboard: a single page over the REST API (/api/v1), polling every couple of seconds. This entry point
// maps the hash routes to their pages and signs in with the token the header's form takes.
import { compareView } from "./compare.js";
import { devicesView } from "./devices.js";
import { jobView } from "./job.js";
import { modelsView } from "./models.js";
import { queueView } from "./queue.js";
import { route, startRouting } from "./router.js";
import { identify, useToken } from "./session.js";
import { submitView } from "./submit.js";
import { sweepView } from "./sweep.js";
import { sweepsView } from "./sweeps.js";
import { tokensView } from "./tokens.js";

// #/job/ID, #/compare?ids=.., ...; anything else (#/jobs) is the queue
startRouting({
  job: jobView,
  compare: compareView,
  sweep: sweepView,
  sweeps: sweepsView,
  devices: devicesView,
  models: modelsView,
  submit: submitView,
  tokens: tokensView,
}, queueView);

document.getElementById("token-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = document.getElementById("token");
  const token = input.value.trim();
  input.value = "";
  await useToken(token);
  route();
});
identify().then(route);
