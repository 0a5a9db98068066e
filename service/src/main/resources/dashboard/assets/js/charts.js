// Chart.js line charts (Chart is the global of the WebJar's classic script), destroyed when the view changes;
// each drawn on white, so that its PNG (export.js) reads on any page it is pasted into.
import { el } from "./dom.js";
import { pngButton } from "./export.js";

let charts = [];

const whiteBackground = { id: "whiteBackground", beforeDraw(chart) {
  const ctx = chart.ctx;
  ctx.save(); ctx.globalCompositeOperation = "destination-over"; ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, chart.width, chart.height); ctx.restore();
} };

/**
 * A line chart of {x, y} points. xScale: "linear" (epochs, steps, swept numbers), "logarithmic" (learning rates)
 * or "category" (swept values that are not numbers).
 */
export function lineChart(canvas, title, yLabel, datasets, xLabel = "epoch", xScale = "linear") {
  const integer = xLabel === "epoch" || xLabel === "step";
  const chart = new Chart(canvas, {
    type: "line",
    data: { datasets },
    plugins: [whiteBackground],
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
      plugins: { title: { display: true, text: title }, legend: { position: "bottom" } },
      scales: { x: { type: xScale, title: { display: true, text: xLabel },
                     ticks: xScale === "linear" ? (integer ? { stepSize: xLabel === "epoch" ? 1 : undefined, precision: 0 } : {}) : {} },
                y: { type: "linear", title: { display: true, text: yLabel } } },
      elements: { point: { radius: 0 }, line: { borderWidth: 2 } },
    },
  });
  charts.push(chart);
  return chart;
}

/** Sets the chart's axes: titles, a logarithmic or linear y, whole-number ticks for epochs. */
export function axes(chart, title, xLabel, yLabel, logY) {
  const o = chart.options;
  o.plugins.title.text = title;
  o.scales.x.title.text = xLabel;
  o.scales.x.ticks = xLabel === "epoch" ? { stepSize: 1, precision: 0 } : {};
  o.scales.y = { type: logY ? "logarithmic" : "linear", title: { display: true, text: yLabel + (logY ? " (log scale)" : "") } };
}

/** A card holding the chart's canvas and its PNG button; chartClass "chart tall" for a page's one big chart. */
export const chartCard = (canvas, filename, chartClass = "chart") => el("div", { class: "card" }, el("div", { class: chartClass }, canvas),
  el("p", { class: "exports" }, pngButton(canvas, filename)));

export function destroyCharts() {
  charts.forEach((c) => c.destroy());
  charts = [];
}

const COLORS = ["#c2410c", "#1565c0", "#2e7d32", "#6a1b9a", "#00838f", "#f9a825", "#ad1457", "#4e342e"];

/** The colour of run i, the same in every chart and table of a page. */
export const color = (i) => COLORS[i % COLORS.length];

// Epoch series show their points; step series (many points) are plain lines.
export const series = (label, points, i, perStep) => ({ label, data: points, borderColor: color(i),
  backgroundColor: color(i), pointRadius: perStep ? 0 : 3 });

/** A run's raw curve drawn faint behind its smoothed one, in the run's colour, left out of the legend. */
export const faint = (label, points, i) => ({ label: label + " (raw)", data: points, borderColor: color(i) + "40",
  backgroundColor: color(i) + "40", pointRadius: 0, borderWidth: 1, raw: true });
