// Chart.js line charts (Chart is the global of the WebJar's classic script), destroyed when the view changes.

let charts = [];

export function lineChart(canvas, title, yLabel, datasets, xLabel = "epoch") {
  const chart = new Chart(canvas, {
    type: "line",
    data: { datasets },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
      plugins: { title: { display: true, text: title }, legend: { position: "bottom" } },
      scales: { x: { type: "linear", title: { display: true, text: xLabel },
                     ticks: xLabel === "epoch" ? { stepSize: 1, precision: 0 } : { precision: 0 } },
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
