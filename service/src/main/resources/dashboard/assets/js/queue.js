// The queue page (#/jobs?user=&state=&name=&sweep=): every job with its state (and a failed one's error), progress,
// times and latest accuracy, filtered as the URL says; ticked jobs go to Compare.
import { api } from "./api.js";
import { el, fmt } from "./dom.js";
import { cancel, canCancel, duration, eta, progressBar, stateOf, when } from "./job-parts.js";
import { clearView, every } from "./router.js";

// kept across visits to the page, so that jobs can be ticked, looked at, and ticked further
const selected = new Set();
const FILTERS = ["user", "state", "name", "sweep"];
const STATES = ["", "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"];
const COLUMNS = ["", "Job", "Name", "User", "Sweep", "State", "Device", "Progress", "ETA", "Submitted", "Duration",
  "Val acc", "Test acc", ""];

export function queueView(_, params) {
  const v = clearView();
  const body = el("tbody");
  const compare = el("button", { class: "primary", onclick: () => { location.hash = "#/compare?ids=" + [...selected].join(","); } },
    "Compare selected");
  const inputs = {
    user: el("input", { id: "filter-user", value: params.get("user") || "", placeholder: "user", size: 10, "aria-label": "user" }),
    state: el("select", { id: "filter-state", "aria-label": "state" },
      ...STATES.map((s) => el("option", { value: s, selected: s === (params.get("state") || "") }, s || "any state"))),
    name: el("input", { id: "filter-name", value: params.get("name") || "", placeholder: "name contains", size: 14, "aria-label": "name" }),
    sweep: el("input", { id: "filter-sweep", value: params.get("sweep") || "", placeholder: "sweep id", size: 6, "aria-label": "sweep" }),
  };
  // the filters live in the URL: a filtered queue can be linked, and Back returns to it
  const apply = (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const f of FILTERS) if (inputs[f].value.trim()) q.set(f, inputs[f].value.trim());
    location.hash = "#/jobs" + (q.size ? "?" + q : "");
  };
  v.append(el("h1", {}, "Queue and recent jobs"),
    el("form", { class: "card filters", id: "filters", onsubmit: apply }, "Show ", inputs.state, " ", inputs.user, " ", inputs.name, " ",
      inputs.sweep, " ", el("button", { type: "submit" }, "Filter"), " ",
      el("a", { href: "#/jobs", id: "filter-clear" }, "clear")),
    el("div", { class: "card" },
      el("table", { id: "jobs" }, el("thead", {}, el("tr", {}, COLUMNS.map((h) => el("th", {}, h)))), body),
      el("p", {}, compare, " ", el("span", { class: "muted" }, "tick jobs to overlay their learning curves"))));
  const query = new URLSearchParams({ size: 100 });
  for (const f of FILTERS) if (params.get(f)) query.set(f, params.get(f));
  every(async () => {
    try {
      const page = await api("/jobs?" + query);
      body.replaceChildren(...page.jobs.map(jobRow));
      if (!page.jobs.length) body.append(el("tr", {}, el("td", { colspan: COLUMNS.length, class: "empty" },
        query.size > 1 ? "No job matches these filters." : "No jobs yet: submit one.")));
    } catch (e) { body.replaceChildren(el("tr", {}, el("td", { colspan: COLUMNS.length, class: "error" }, e.message))); }
  });
}

function jobRow(job) {
  const m = job.metrics || {};
  const box = el("input", { type: "checkbox", "aria-label": "select job " + job.id, onclick: (e) => e.stopPropagation(),
    onchange: (e) => { e.target.checked ? selected.add(job.id) : selected.delete(job.id); } });
  box.checked = selected.has(job.id);
  const actions = canCancel(job) ? el("button", { class: "danger", onclick: (e) => { e.stopPropagation(); cancel(job); } }, "Cancel") : "";
  const stop = (e) => e.stopPropagation();
  return el("tr", { class: "job", "data-id": job.id, onclick: () => { location.hash = "#/job/" + job.id; } },
    el("td", {}, box), el("td", {}, job.id), el("td", {}, job.name), el("td", {}, job.user),
    el("td", {}, job.sweepId ? el("a", { href: "#/sweep/" + job.sweepId, onclick: stop }, "sweep " + job.sweepId) : ""),
    el("td", { class: "state-cell" }, stateOf(job), job.state === "FAILED" && job.error ? el("div", { class: "error row-error" }, job.error) : ""),
    el("td", {}, job.device || el("span", { class: "muted" }, job.requestedDevice)), el("td", {}, progressBar(job)),
    el("td", {}, eta(job)), el("td", { class: "submitted" }, when(job.submittedAt)), el("td", { class: "duration" }, duration(job)),
    el("td", {}, fmt(m.val_acc)), el("td", {}, fmt(m.test_acc)), el("td", {}, actions));
}
