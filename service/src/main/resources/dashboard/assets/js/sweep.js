// A sweep's page (#/sweep/ID): its points' values, jobs and results, the best starred, the retraining of the
// best point, and a chart of the chosen metric against the swept value (a heat map for two swept parameters).
import { api, download } from "./api.js";
import { chartCard, lineChart, series } from "./charts.js";
import { el, fmt } from "./dom.js";
import { pngButton } from "./export.js";
import { drawHeatmap } from "./heatmap.js";
import { badge } from "./job-parts.js";
import { clearView, every } from "./router.js";

export const short = (path) => path.replace(/.*\./, "");
export const values = (vals) => Object.entries(vals || {}).map(([k, v]) => short(k) + "=" + JSON.stringify(v)).join(", ");

const METRICS = { bestValAcc: "best validation accuracy", testAcc: "test accuracy", seconds: "training time (s)" };

/**
 * How an axis of this parameter's values is scaled: a learning rate (or weight decay), or positive numbers
 * spanning two decades or more, on a log scale; other numbers linearly; anything else as categories.
 */
export function axisOf(path, xs) {
  if (!xs.every((x) => typeof x === "number")) return "category";
  const positive = xs.every((x) => x > 0);
  if (positive && /(^|\.)(lr|learningRate|weightDecay)$/.test(path)) return "logarithmic";
  return positive && Math.max(...xs) / Math.min(...xs) >= 100 ? "logarithmic" : "linear";
}

const distinct = (list) => list.filter((v, i) => list.findIndex((w) => JSON.stringify(w) === JSON.stringify(v)) === i);

export function sweepView(id) {
  const v = clearView();
  const table = el("tbody");
  const head = el("p", { class: "muted" });
  const retrained = el("p", { id: "retrained" });
  const metric = el("select", { id: "sweep-metric", "aria-label": "metric drawn" },
    Object.entries(METRICS).map(([k, label]) => el("option", { value: k }, label)));
  const canvas = el("canvas", { id: "chart-sweep" });
  const heat = el("canvas", { id: "heatmap-sweep", class: "heatmap" });
  const plot = el("div", { class: "card" }, el("p", { class: "exports" }, "Draw ", metric), el("div", { class: "chart" }, canvas));
  v.append(el("h1", {}, "Sweep " + id), head, retrained,
    el("div", { class: "card" }, el("table", { id: "sweep" }, el("thead", {}, el("tr", {}, ["", "Values", "Job", "State",
      "Best val acc", "at epoch", "Test acc", "Time (s)"].map((h) => el("th", {}, h)))), table),
      el("p", { class: "exports" }, el("button", { class: "export", onclick: () => download(`/sweeps/${id}?format=csv`, `sweep-${id}.csv`) }, "CSV"))),
    plot);
  let chart = null;
  let last = null;
  const draw = () => { if (last) chart = drawChart(last, metric.value, plot, canvas, heat, chart, id); };
  metric.addEventListener("change", draw);
  every(async () => {
    try {
      const s = await api("/sweeps/" + id);
      last = s;
      head.replaceChildren(`${s.name} · ${s.user} · `, badge(s.state), s.best ? " · best: " + values(s.best.values) : "");
      retrained.replaceChildren(...retrainedLine(s));
      table.replaceChildren(...s.points.map((p) => {
        const best = s.best && s.best.jobId === p.jobId;
        return el("tr", { class: best ? "best" : "" }, el("td", {}, best ? "★" : ""), el("td", {}, values(p.values)),
          el("td", {}, el("a", { href: "#/job/" + p.jobId }, p.jobId)), el("td", {}, badge(p.state)),
          el("td", {}, fmt(p.bestValAcc)), el("td", {}, p.bestEpoch || "–"), el("td", {}, fmt(p.testAcc)), el("td", {}, fmt(p.seconds, 1)));
      }));
      draw();
    } catch (e) { head.replaceChildren(el("span", { class: "error" }, e.message)); }
  });
}

/** The retraining of the best point on training + validation data, when the sweep asked for it. */
export function retrainedLine(s) {
  const r = s.retrained;
  if (r) {
    return ["Retrained ", values(r.values), ` on training + validation data for ${r.epochs} epoch${r.epochs === 1 ? "" : "s"} (job `,
      el("a", { href: "#/job/" + r.jobId }, r.jobId), ") ", badge(r.state), " · test accuracy ", el("b", {}, fmt(r.testAcc))];
  }
  if (s.retrainNote) return [s.retrainNote];
  return s.retrain ? ["The best point is retrained on training + validation data once every point has ended."] : [];
}

// One swept parameter: the metric against its values; two: a heat map; more: a line per combination of the rest.
function drawChart(s, key, plot, canvas, heat, chart, id) {
  const params = s.parameters;
  const label = METRICS[key];
  if (params.length === 2) {
    if (!heat.isConnected) {
      plot.querySelector(".chart").replaceChildren(heat);
      plot.append(el("p", { class: "exports" }, pngButton(heat, `sweep-${id}-heatmap.png`)));
    }
    const [px, py] = params;
    const cells = new Map(s.points.map((p) => [JSON.stringify(p.values[px]) + "|" + JSON.stringify(p.values[py]), p[key]]));
    drawHeatmap(heat, { title: `${label} by ${short(px)} and ${short(py)}`, xLabel: short(px), yLabel: short(py),
      xs: distinct(s.points.map((p) => p.values[px])), ys: distinct(s.points.map((p) => p.values[py])), cells,
      digits: key === "seconds" ? 1 : 4 });
    return chart;
  }
  const px = params[0];
  const xs = distinct(s.points.map((p) => p.values[px]));
  const scale = axisOf(px, xs);
  const rest = params.slice(1);
  const groups = new Map();
  for (const p of s.points) {
    const k = values(Object.fromEntries(rest.map((r) => [r, p.values[r]])));
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(p);
  }
  if (!chart) {
    chart = lineChart(canvas, "", label, [], short(px) + (scale === "logarithmic" ? " (log scale)" : ""), scale);
    plot.append(el("p", { class: "exports" }, pngButton(canvas, `sweep-${id}.png`)));
  }
  const labels = xs.map(String);
  if (scale === "category") chart.data.labels = labels;
  chart.data.datasets = [...groups.entries()].map(([k, ps], i) => series(k || label, ps
    .map((p) => ({ x: scale === "category" ? labels.indexOf(String(p.values[px])) : p.values[px], y: p[key] }))
    .filter((q) => q.y !== null && q.y !== undefined).sort((a, b) => a.x - b.x), i));
  chart.options.plugins.title.text = `${label} by ${short(px)}`;
  chart.options.scales.y.title.text = label;
  chart.update();
  return chart;
}
