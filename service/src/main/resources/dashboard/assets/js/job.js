// A job's page (#/job/ID): its facts, times and buttons (Clone among them), its spec, live learning curves (none
// for a job that never trained), and its log (or why it is refused).
import { api, apiText, download } from "./api.js";
import { chartCard, lineChart, series } from "./charts.js";
import { el, fmt, toast } from "./dom.js";
import { cancel, canCancel, describeModel, duration, eta, finished, progressBar, stateOf, when } from "./job-parts.js";
import { confusionTable } from "./confusion.js";
import { clearView, every, route } from "./router.js";

export function jobView(id) {
  const v = clearView();
  const head = el("div", { class: "card" });
  const lossCanvas = el("canvas", { id: "chart-step-loss" });
  const epochLossCanvas = el("canvas", { id: "chart-epoch-loss" });
  const accCanvas = el("canvas", { id: "chart-accuracy" });
  const captions = el("div", { class: "card", id: "captions", hidden: true });
  const log = el("pre", { class: "log", id: "log" });
  const logRefused = el("p", { class: "error refused", id: "log-refused", hidden: true });
  const spec = el("pre", { class: "spec", id: "job-spec" });
  const noCurves = el("p", { class: "muted", id: "no-curves", hidden: true });
  const results = el("div", { class: "card", id: "test-results", hidden: true });
  const grid = el("div", { class: "grid", id: "curves" },
      chartCard(lossCanvas, `job-${id}-step-loss.png`), chartCard(epochLossCanvas, `job-${id}-epoch-loss.png`),
      chartCard(accCanvas, `job-${id}-accuracy.png`));
  v.append(el("h1", {}, "Job " + id), head, noCurves, grid, captions,
    results,
    el("div", { class: "card" }, el("h2", {}, "Log"), logRefused, log),
    el("div", { class: "card" }, el("h2", {}, "Spec"), spec));
  const stepLoss = lineChart(lossCanvas, "Training loss per step", "loss", [series("loss", [], 0, true)], "step");
  const epochLoss = lineChart(epochLossCanvas, "Loss per epoch", "loss", [series("train", [], 0), series("validation", [], 1)]);
  const acc = lineChart(accCanvas, "Accuracy per epoch", "accuracy", [series("train", [], 0), series("validation", [], 1)]);
  let done = false;
  every(async () => {
    if (done) return;
    try {
      const [job, metrics] = await Promise.all([api("/jobs/" + id), api(`/jobs/${id}/metrics?maxPoints=400`)]);
      renderJobHead(head, job);
      renderCaptions(captions, job.metrics || {});
      spec.textContent = JSON.stringify(job.spec, null, 2);
      // a job that ended without a point (cancelled in the queue, failed at start) has no curves to draw
      const none = finished(job.state) && !metrics.steps.length && !metrics.epochs.length;
      grid.hidden = none; noCurves.hidden = !none;
      noCurves.textContent = none ? `No learning curves: the job ${job.attempts ? "ended before its first step" : "never ran"}.` : "";
      // the log is its owner's and the admins' unless shared: a refusal says why and who may share it
      let text = "";
      try {
        text = await apiText(`/jobs/${id}/log`);
        logRefused.hidden = true; log.hidden = false;
      } catch (e) {
        if (e.status !== 403) throw e;
        logRefused.textContent = e.message; logRefused.hidden = false; log.hidden = true;
      }
      stepLoss.data.datasets[0].data = metrics.steps.filter((p) => p.loss !== null).map((p) => ({ x: p.globalStep, y: p.loss }));
      const ep = metrics.epochs;
      epochLoss.data.datasets[0].data = ep.map((p) => ({ x: p.epoch, y: p.train_loss }));
      epochLoss.data.datasets[1].data = ep.filter((p) => p.val_loss !== null).map((p) => ({ x: p.epoch, y: p.val_loss }));
      acc.data.datasets[0].data = ep.map((p) => ({ x: p.epoch, y: p.train_acc }));
      acc.data.datasets[1].data = ep.filter((p) => p.val_acc !== null).map((p) => ({ x: p.epoch, y: p.val_acc }));
      for (const c of [stepLoss, epochLoss, acc]) c.update();
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 20;
      log.textContent = text.length > 200000 ? text.slice(-200000) : text;
      if (atBottom) log.scrollTop = log.scrollHeight;
      // a captioning job's results are its sampled captions (above), not a confusion matrix
      const classifies = (job.spec || {}).loss !== "temporal_softmax";
      if (job.state === "SUCCEEDED" && classifies && (job.permissions || {}).results && results.hidden) showResults(results, id);
      done = finished(job.state);
      document.body.dataset.jobState = job.state;
    } catch (e) { head.replaceChildren(el("p", { class: "error" }, e.message)); }
  });
}

// the report's numbers take a pass over the test set the first time: asked for once, when the job has succeeded
async function showResults(box, id) {
  box.hidden = false;
  box.replaceChildren(el("h2", {}, "Test results"), el("p", { class: "muted" }, "evaluating on the test set..."));
  try { box.replaceChildren(el("h2", {}, "Test results"), confusionTable(await api(`/jobs/${id}/report/summary`))); }
  catch (e) { box.replaceChildren(el("h2", {}, "Test results"), el("p", { class: "error" }, e.message)); }
}

function renderJobHead(head, job) {
  const m = job.metrics || {}, spec = job.spec || {};
  const opt = spec.optimizer || {}, tr = spec.training || {};
  const may = job.permissions || {};
  const buttons = [
    canCancel(job) ? el("button", { class: "danger", onclick: () => cancel(job) }, "Cancel") : null,
    may.results && job.progress && job.progress.epoch > 0 ? el("button", { onclick: () => download(`/jobs/${job.id}/checkpoint`, `job-${job.id}.kiln`) }, "Download checkpoint") : null,
    may.results && job.state === "SUCCEEDED" ? el("button", { onclick: () => download(`/jobs/${job.id}/report`, "", true) }, "Open report") : null,
    el("button", { id: "clone", title: "open Submit with this spec to edit", onclick: () => { location.hash = "#/submit?from=" + job.id; } }, "Clone"),
    may.share ? el("button", { id: "share", onclick: () => share(job, !job.shared) }, job.shared ? "Stop sharing" : "Share with the lab") : null,
  ];
  head.replaceChildren(
    el("dl", { class: "facts" },
      el("dt", {}, "name"), el("dd", {}, job.name), el("dt", {}, "state"), el("dd", {}, stateOf(job), job.batchJob ? el("span", { class: "muted" }, " · SLURM job " + job.batchJob) : "", " ", job.error ? el("span", { class: "error" }, job.error) : ""),
      el("dt", {}, "user"), el("dd", {}, job.user), el("dt", {}, "device"), el("dd", {}, job.device || "–"),
      el("dt", {}, "results"), el("dd", { id: "sharing" }, job.shared ? "shared with the lab: log, report, checkpoint, predictions, fine-tuning"
        : `private: ${job.user}'s and the admins'`),
      ...(job.sweepId ? [el("dt", {}, "sweep"), el("dd", {}, el("a", { href: "#/sweep/" + job.sweepId }, "sweep " + job.sweepId))] : []),
      ...(fromJob(spec) ? [el("dt", {}, "fine-tuned from"), el("dd", {}, el("a", { id: "source-job", href: "#/job/" + fromJob(spec) }, "job " + fromJob(spec)),
        spec.init.freeze ? " · frozen: " + JSON.stringify(spec.init.freeze) : "")] : []),
      el("dt", {}, "times"), el("dd", { id: "times" }, `submitted ${when(job.submittedAt)} · started ${when(job.startedAt)} · finished ${when(job.finishedAt)}`),
      el("dt", {}, "running"), el("dd", {}, el("span", { id: "duration" }, duration(job)),
        ` over ${job.attempts} attempt${job.attempts === 1 ? "" : "s"}`, job.attempts > 1 ? ` (this one from ${when(job.attemptStartedAt)})` : ""),
      el("dt", {}, "progress"), el("dd", {}, progressBar(job), " ", eta(job) ? "ETA " + eta(job) : ""),
      el("dt", {}, "latest"), el("dd", {}, `loss ${fmt(m.loss)} · train acc ${fmt(m.train_acc)} · val acc ${fmt(m.val_acc)} · test acc ${fmt(m.test_acc)} · ${fmt(m.samples_per_s, 0)} samples/s`),
      el("dt", {}, "recipe"), el("dd", {}, `${spec.data ? spec.data.name : "?"} · ${describeModel(spec.model)} · ${opt.type || "sgd"} lr ${opt.lr} · batch ${tr.batchSize || 100} · ${tr.epochs || "?"} epochs`)),
    el("p", {}, ...buttons.filter(Boolean)));
}

// A captioning job's greedy captions of fixed images beside their ground truth, from its latest captions event.
function renderCaptions(card, m) {
  const samples = m.captions || [];
  card.hidden = samples.length === 0;
  if (card.hidden) return;
  const rows = samples.map((s) => el("tr", {},
    el("td", {}, s.split),
    el("td", {}, s.url && /^https?:\/\//.test(s.url) ? el("a", { href: s.url, target: "_blank", rel: "noopener" }, String(s.image)) : String(s.image)),
    el("td", { class: "sample" }, s.sample),
    el("td", {}, ...(s.truth || []).flatMap((t) => [t, el("br")]))));
  card.replaceChildren(el("h2", {}, `Sampled captions (epoch ${m.captions_epoch}) · validation BLEU-4 ${fmt(m.val_bleu4)}`),
    el("table", {}, el("tr", {}, el("th", {}, "split"), el("th", {}, "image"), el("th", {}, "sampled"), el("th", {}, "ground truth")), ...rows));
}

const fromJob = (spec) => (spec.init && spec.init.fromJob !== undefined && spec.init.fromJob !== null ? String(spec.init.fromJob) : null);

async function share(job, shared) {
  try {
    await api("/jobs/" + job.id, { method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ shared }) });
    toast(`job ${job.id}: ` + (shared ? "shared with the lab" : "no longer shared"));
    route();
  } catch (e) { toast(e.message); }
}
