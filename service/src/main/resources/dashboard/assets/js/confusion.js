// A job's test results from its report's numbers: the confusion matrix (rows the true class) shaded by each
// cell's share of its row, and each class's accuracy.
import { el, fmt } from "./dom.js";

/** summary: {accuracy, samples, classes, confusion, perClassAccuracy} of GET /jobs/ID/report/summary. */
export function confusionTable(summary) {
  const head = el("tr", {}, el("th", {}, "true \\ predicted"), ...summary.classes.map((c) => el("th", {}, c)), el("th", {}, "accuracy"));
  const rows = summary.confusion.map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    return el("tr", {}, el("th", {}, summary.classes[t]), ...row.map((v, p) => {
      const share = total ? v / total : 0;
      // green on the diagonal (right), red elsewhere (wrong), as strong as the share of the row
      const rgb = t === p ? "46, 125, 50" : "198, 40, 40";
      return el("td", { class: t === p ? "right" : "wrong", style: { backgroundColor: `rgba(${rgb}, ${(0.6 * share).toFixed(3)})` } }, v);
    }), el("td", { class: "class-accuracy" }, fmt(summary.perClassAccuracy[t], 3)));
  });
  return el("div", {}, el("p", {}, `test accuracy ${fmt(summary.accuracy)} on ${summary.samples} images`),
    el("table", { id: "job-confusion", class: "confusion" }, el("thead", {}, head), el("tbody", {}, ...rows)));
}
