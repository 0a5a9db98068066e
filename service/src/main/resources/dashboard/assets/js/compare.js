// Compare (#/compare?ids=3,4): the jobs' validation accuracy and training loss overlaid, and a summary table.
import { api } from "./api.js";
import { lineChart, series } from "./charts.js";
import { el, fmt } from "./dom.js";
import { badge, describeModel } from "./job-parts.js";
import { clearView, every } from "./router.js";

export function compareView(_, params) {
  const v = clearView();
  const ids = (params.get("ids") || "").split(",").map((s) => s.trim()).filter(Boolean);
  const input = el("input", { value: ids.join(","), placeholder: "job ids, e.g. 3,4,7", size: 30 });
  const table = el("tbody");
  const valCanvas = el("canvas", { id: "chart-compare-acc" });
  const lossCanvas = el("canvas", { id: "chart-compare-loss" });
  v.append(el("h1", {}, "Compare jobs"),
    el("form", { class: "card", onsubmit: (e) => { e.preventDefault(); location.hash = "#/compare?ids=" + input.value.replace(/\s/g, ""); } },
      input, " ", el("button", { class: "primary", type: "submit" }, "Compare")),
    el("div", { class: "grid" }, el("div", { class: "card" }, el("div", { class: "chart" }, valCanvas)),
      el("div", { class: "card" }, el("div", { class: "chart" }, lossCanvas))),
    el("div", { class: "card" }, el("table", { id: "summary" }, el("thead", {}, el("tr", {}, ["Job", "Name", "State",
      "Best val acc", "at epoch", "Test acc", "Epochs", "Time (s)", "Model", "Optimizer", "lr", "Batch"].map((h) => el("th", {}, h)))), table)));
  if (!ids.length) { table.append(el("tr", {}, el("td", { colspan: 12, class: "empty" }, "Tick jobs in the queue, or type their ids."))); return; }
  const acc = lineChart(valCanvas, "Validation accuracy", "accuracy", []);
  const loss = lineChart(lossCanvas, "Training loss per epoch", "loss", []);
  every(async () => {
    try {
      const rows = await Promise.all(ids.map(async (id) => [await api("/jobs/" + id), await api(`/jobs/${id}/metrics?maxPoints=1`)]));
      acc.data.datasets = rows.map(([j, m], i) => series(`${j.id} ${j.name}`, m.epochs.filter((p) => p.val_acc !== null).map((p) => ({ x: p.epoch, y: p.val_acc })), i));
      loss.data.datasets = rows.map(([j, m], i) => series(`${j.id} ${j.name}`, m.epochs.map((p) => ({ x: p.epoch, y: p.train_loss })), i));
      acc.update(); loss.update();
      table.replaceChildren(...rows.map(([j, m]) => {
        let best = null;
        for (const p of m.epochs) if (p.val_acc !== null && (!best || p.val_acc > best.val_acc)) best = p;
        const seconds = m.epochs.reduce((s, p) => s + (p.seconds || 0), 0);
        const spec = j.spec || {}, opt = spec.optimizer || {}, tr = spec.training || {};
        return el("tr", {}, el("td", {}, el("a", { href: "#/job/" + j.id }, j.id)), el("td", {}, j.name), el("td", {}, badge(j.state)),
          el("td", {}, best ? fmt(best.val_acc) : "–"), el("td", {}, best ? best.epoch : "–"), el("td", {}, fmt((j.metrics || {}).test_acc)),
          el("td", {}, m.epochs.length), el("td", {}, seconds.toFixed(1)), el("td", {}, describeModel(spec.model)),
          el("td", {}, opt.type || "sgd"), el("td", {}, opt.lr), el("td", {}, tr.batchSize || 100));
      }));
    } catch (e) { table.replaceChildren(el("tr", {}, el("td", { colspan: 12, class: "error" }, e.message))); }
  });
}
