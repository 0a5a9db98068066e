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
                y: { title: { display: true, text: yLabel } } },
      elements: { point: { radius: 0 }, line: { borderWidth: 2 } },
    },
  });
  charts.push(chart);
  return chart;
}

export function destroyCharts() {
  charts.forEach((c) => c.destroy());
  charts = [];
}

const COLORS = ["#c2410c", "#1565c0", "#2e7d32", "#6a1b9a", "#00838f", "#f9a825", "#ad1457", "#4e342e"];
// Epoch series show their points; step series (many points) are plain lines.
export const series = (label, points, i, perStep) => ({ label, data: points, borderColor: COLORS[i % COLORS.length],
  backgroundColor: COLORS[i % COLORS.length], pointRadius: perStep ? 0 : 3 });
