// A sweep's page (#/sweep/ID): its points' values, jobs and results, the best starred, and a chart of them.
import { api } from "./api.js";
import { lineChart, series } from "./charts.js";
import { el, fmt } from "./dom.js";
import { badge } from "./job-parts.js";
import { clearView, every } from "./router.js";

const values = (vals) => Object.entries(vals || {}).map(([k, v]) => k.replace(/.*\./, "") + "=" + JSON.stringify(v)).join(", ");

export function sweepView(id) {
  const v = clearView();
  const table = el("tbody");
  const canvas = el("canvas", { id: "chart-sweep" });
  const head = el("p", { class: "muted" });
  v.append(el("h1", {}, "Sweep " + id), head,
    el("div", { class: "card" }, el("table", { id: "sweep" }, el("thead", {}, el("tr", {}, ["", "Values", "Job", "State",
      "Best val acc", "at epoch", "Test acc", "Time (s)"].map((h) => el("th", {}, h)))), table)),
    el("div", { class: "card" }, el("div", { class: "chart" }, canvas)));
  const chart = lineChart(canvas, "Best validation accuracy per point", "accuracy", [series("best val acc", [], 0)], "point");
  every(async () => {
    try {
      const s = await api("/sweeps/" + id);
      head.replaceChildren(`${s.name} · ${s.user} · `, badge(s.state), s.best ? " · best: " + values(s.best.values) : "");
      table.replaceChildren(...s.points.map((p) => {
        const best = s.best && s.best.jobId === p.jobId;
        return el("tr", { class: best ? "best" : "" }, el("td", {}, best ? "★" : ""), el("td", {}, values(p.values)),
          el("td", {}, el("a", { href: "#/job/" + p.jobId }, p.jobId)), el("td", {}, badge(p.state)),
          el("td", {}, fmt(p.bestValAcc)), el("td", {}, p.bestEpoch || "–"), el("td", {}, fmt(p.testAcc)), el("td", {}, fmt(p.seconds, 1)));
      }));
      chart.data.datasets[0].data = s.points.map((p, i) => ({ x: i + 1, y: p.bestValAcc })).filter((p) => p.y !== null);
      chart.update();
    } catch (e) { head.replaceChildren(el("span", { class: "error" }, e.message)); }
  });
}
