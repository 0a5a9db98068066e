// Compare (#/compare?ids=3,4&metric=val_acc&x=epoch&smooth=0.6&log=1): one metric of the jobs overlaid against
// step, epoch or wall time, smoothed and on a log scale if asked; the spec fields that differ; a summary table.
// The choices live in the URL, so a comparison can be linked. The chart saves as PNG; the table, and the jobs'
// per-epoch metrics, as CSV.
import { api, download } from "./api.js";
import { axes, chartCard, color, faint, lineChart, series } from "./charts.js";
import { el, fmt } from "./dom.js";
import { csvButton } from "./export.js";
import { badge, describeModel, duration } from "./job-parts.js";
import { clearView, every } from "./router.js";
import { smooth } from "./smoothing.js";
import { differences } from "./spec-diff.js";

const METRICS = { val_acc: "validation accuracy", val_loss: "validation loss", train_acc: "training accuracy",
  train_loss: "training loss per epoch", loss: "training loss per step", samples_per_s: "samples per second" };
const XS = { step: "step", epoch: "epoch", time: "wall time (s)" };

export function compareView(_, params) {
  const v = clearView();
  const ids = (params.get("ids") || "").split(",").map((s) => s.trim()).filter(Boolean);
  const choice = { metric: Object.hasOwn(METRICS, params.get("metric")) ? params.get("metric") : "val_acc",
    x: Object.hasOwn(XS, params.get("x")) ? params.get("x") : "epoch",
    smooth: Math.min(0.99, Math.max(0, Number(params.get("smooth")) || 0)), log: params.get("log") === "1" };
  const input = el("input", { value: ids.join(","), placeholder: "job ids, e.g. 3,4,7", size: 30 });
  const table = el("tbody");
  const diff = el("tbody");
  const canvas = el("canvas", { id: "chart-compare" });
  const metric = el("select", { id: "compare-metric", "aria-label": "metric" },
    ...Object.entries(METRICS).map(([k, t]) => el("option", { value: k, selected: k === choice.metric }, t)));
  const x = el("select", { id: "compare-x", "aria-label": "x axis" },
    ...Object.entries(XS).map(([k, t]) => el("option", { value: k, selected: k === choice.x }, t)));
  const slider = el("input", { id: "compare-smoothing", type: "range", min: 0, max: 0.99, step: 0.01, value: choice.smooth,
    "aria-label": "smoothing" });
  const shown = el("span", { id: "compare-smoothing-value" }, choice.smooth.toFixed(2));
  const log = el("input", { id: "compare-log", type: "checkbox", "aria-label": "log scale" });
  log.checked = choice.log;
  const COLUMNS = ["Job", "Name", "State", "Best val acc", "at epoch", "Test acc", "Epochs", "Duration (s)", "Model", "Optimizer", "lr", "Batch"];
  let summary = [];  // the table's rows as values, for its CSV
  const name = "compare-" + ids.join("-");
  v.append(el("h1", {}, "Compare jobs"),
    el("form", { class: "card", onsubmit: (e) => { e.preventDefault(); go({ ids: input.value.replace(/\s/g, "") }); } },
      input, " ", el("button", { class: "primary", type: "submit" }, "Compare")),
    el("div", { class: "card controls" }, el("label", {}, "metric ", metric), el("label", {}, "x axis ", x),
      el("label", {}, "smoothing ", slider, " ", shown), el("label", {}, log, " log scale")),
    chartCard(canvas, `${name}-${choice.metric}.png`, "chart tall"),
    el("div", { class: "card" }, el("h2", {}, "Settings that differ"), el("table", { id: "spec-diff" }, el("thead"), diff)),
    el("div", { class: "card" }, el("table", { id: "summary" }, el("thead", {}, el("tr", {}, ["", "Job", "Name", "State",
      "Best val acc", "at epoch", "Test acc", "Epochs", "Duration", "Model", "Optimizer", "lr", "Batch"].map((h) => el("th", {}, h)))), table),
      ids.length ? el("p", { class: "exports" }, csvButton("Table CSV", name + ".csv", COLUMNS, () => summary),
        el("button", { class: "export", onclick: () => download(`/metrics?jobs=${ids.join(",")}&format=csv`, name + "-metrics.csv") }, "Metrics CSV")) : ""));
  if (!ids.length) { table.append(el("tr", {}, el("td", { colspan: 13, class: "empty" }, "Tick jobs in the queue, or type their ids."))); return; }
  // every choice is kept in the URL; the page is drawn again from it
  const go = (change) => {
    const next = Object.assign({ ids: ids.join(","), metric: metric.value, x: x.value, smooth: slider.value, log: log.checked ? "1" : "0" }, change);
    location.hash = "#/compare?" + new URLSearchParams(next).toString();
  };
  metric.addEventListener("change", () => go({}));
  x.addEventListener("change", () => go({}));
  log.addEventListener("change", () => go({}));
  slider.addEventListener("input", () => { choice.smooth = Number(slider.value); shown.textContent = choice.smooth.toFixed(2); draw(); });
  slider.addEventListener("change", () => history.replaceState(null, "", "#/compare?" + new URLSearchParams({ ids: ids.join(","),
    metric: metric.value, x: x.value, smooth: slider.value, log: log.checked ? "1" : "0" }).toString()));
  const chart = lineChart(canvas, "", "", [], XS[choice.x]);
  chart.options.plugins.legend.labels = { filter: (item, data) => !data.datasets[item.datasetIndex].raw };
  axes(chart, METRICS[choice.metric], XS[choice.x], METRICS[choice.metric], choice.log);
  let rows = [];
  const draw = () => {
    chart.data.datasets = rows.flatMap(([j, m], i) => {
      const raw = curve(j, m, choice.metric, choice.x);
      return [faint(`${j.id} ${j.name}`, raw, i), series(`${j.id} ${j.name}`, smooth(raw, choice.smooth), i, choice.metric === "loss")];
    });
    chart.update();
  };
  every(async () => {
    try {
      rows = await Promise.all(ids.map(async (id) => [await api("/jobs/" + id), await api(`/jobs/${id}/metrics?maxPoints=400`)]));
      draw();
      renderDiff(diff, rows.map(([j]) => j));
      summary = rows.map(([j, m]) => summaryValues(j, m));
      table.replaceChildren(...rows.map(([j], i) => summaryRow(j, summary[i], i)));
    } catch (e) { table.replaceChildren(el("tr", {}, el("td", { colspan: 13, class: "error" }, e.message))); }
  });
}

/**
 * The job's points of one metric against the x axis asked for. Per-epoch points sit at the epoch's end: its last
 * step, or the wall time the epochs so far took; per-step points at the fraction of their epoch's time.
 */
export function curve(job, m, metric, x) {
  const stepsPerEpoch = (job.progress || {}).steps || 1;
  const ends = [0];
  for (const p of m.epochs) ends[p.epoch] = (ends[p.epoch - 1] || 0) + (p.seconds || 0);
  if (metric === "loss") {
    return m.steps.filter((p) => p.loss !== null).map((p) => ({ y: p.loss, x: x === "step" ? p.globalStep
      : x === "epoch" ? p.epoch - 1 + p.step / stepsPerEpoch
      : (ends[p.epoch - 1] || 0) + ((ends[p.epoch] || ends[p.epoch - 1] || 0) - (ends[p.epoch - 1] || 0)) * p.step / stepsPerEpoch }));
  }
  return m.epochs.filter((p) => p[metric] !== null && p[metric] !== undefined)
    .map((p) => ({ y: p[metric], x: x === "step" ? p.epoch * stepsPerEpoch : x === "epoch" ? p.epoch : ends[p.epoch] }));
}

function renderDiff(body, jobs) {
  const head = body.parentElement.querySelector("thead");
  head.replaceChildren(el("tr", {}, el("th", {}, "field"), ...jobs.map((j, i) => el("th", {}, swatch(i), `${j.id} ${j.name}`))));
  const rows = differences(jobs.map((j) => j.spec));
  body.replaceChildren(...rows.map((d) => el("tr", { "data-path": d.path }, el("td", {}, el("code", {}, d.path)),
    ...d.values.map((v) => el("td", {}, v === undefined ? el("span", { class: "muted" }, "(not set)") : JSON.stringify(v))))));
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: jobs.length + 1, class: "empty" }, "The specs are the same but for their names.")));
}

const swatch = (i) => el("span", { class: "swatch", style: { backgroundColor: color(i) } });

/** The summary table's row of a job as values (its CSV row): the run time across attempts in seconds. */
function summaryValues(j, m) {
  let best = null;
  for (const p of m.epochs) if (p.val_acc !== null && (!best || p.val_acc > best.val_acc)) best = p;
  const spec = j.spec || {}, opt = spec.optimizer || {}, tr = spec.training || {};
  return [j.id, j.name, j.state, best ? best.val_acc : null, best ? best.epoch : null, (j.metrics || {}).test_acc,
    m.epochs.length, j.runningSeconds || 0, describeModel(spec.model), opt.type || "sgd", opt.lr, tr.batchSize || 100];
}

function summaryRow(j, r, i) {
  return el("tr", {}, el("td", {}, swatch(i)), el("td", {}, el("a", { href: "#/job/" + r[0] }, r[0])), el("td", {}, r[1]),
    el("td", {}, badge(r[2])), el("td", {}, fmt(r[3])), el("td", {}, r[4] ?? "–"), el("td", {}, fmt(r[5])), el("td", {}, r[6]),
    el("td", {}, duration(j)), ...r.slice(8).map((c) => el("td", {}, c)));
}
