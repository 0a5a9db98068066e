// A heat map on a plain canvas: the metric of each point of a sweep over two parameters, one cell per pair of
// values, darker for higher, the figure written in it. Its aria-label lists every cell, for screen readers.

const MARGIN = { left: 90, top: 34, right: 16, bottom: 46 };

/** Orange shades from light (the lowest value) to dark (the highest). */
function shade(t) {
  const from = [255, 243, 224], to = [194, 65, 12];
  return `rgb(${from.map((f, i) => Math.round(f + (to[i] - f) * t)).join(",")})`;
}

/**
 * Draws rows (the y parameter's values) by columns (the x parameter's); cells maps "x|y" to the value (null:
 * none yet). Labels are the parameters' short names.
 */
export function drawHeatmap(canvas, { title, xLabel, yLabel, xs, ys, cells, digits = 4 }) {
  const width = canvas.clientWidth || 600, height = canvas.clientHeight || 280;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = width * ratio; canvas.height = height * ratio;
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = "#1d2329"; ctx.font = "bold 13px system-ui, sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "middle";
  ctx.fillText(title, width / 2, 14);
  const values = [...cells.values()].filter((v) => v !== null && Number.isFinite(v));
  const lo = Math.min(...values), hi = Math.max(...values);
  const cw = (width - MARGIN.left - MARGIN.right) / Math.max(xs.length, 1);
  const ch = (height - MARGIN.top - MARGIN.bottom) / Math.max(ys.length, 1);
  const said = [];
  ctx.font = "12px system-ui, sans-serif";
  ys.forEach((y, r) => xs.forEach((x, c) => {
    const v = cells.get(JSON.stringify(x) + "|" + JSON.stringify(y));
    const has = v !== null && v !== undefined && Number.isFinite(v);
    const t = has ? (hi > lo ? (v - lo) / (hi - lo) : 1) : 0;
    const left = MARGIN.left + c * cw, top = MARGIN.top + r * ch;
    ctx.fillStyle = has ? shade(t) : "#eceff1";
    ctx.fillRect(left + 1, top + 1, cw - 2, ch - 2);
    ctx.fillStyle = t > 0.55 ? "#fff" : "#1d2329";
    ctx.fillText(has ? v.toFixed(digits) : "–", left + cw / 2, top + ch / 2);
    said.push(`${xLabel}=${x}, ${yLabel}=${y}: ${has ? v.toFixed(digits) : "none"}`);
  }));
  ctx.fillStyle = "#6a737d";
  xs.forEach((x, c) => ctx.fillText(String(x), MARGIN.left + (c + 0.5) * cw, height - MARGIN.bottom + 14));
  ctx.fillText(xLabel, MARGIN.left + (width - MARGIN.left - MARGIN.right) / 2, height - 12);
  ctx.textAlign = "right";
  ys.forEach((y, r) => ctx.fillText(String(y), MARGIN.left - 8, MARGIN.top + (r + 0.5) * ch));
  ctx.save(); ctx.translate(14, MARGIN.top + (height - MARGIN.top - MARGIN.bottom) / 2); ctx.rotate(-Math.PI / 2);
  ctx.textAlign = "center"; ctx.fillText(yLabel, 0, 0); ctx.restore();
  canvas.setAttribute("aria-label", title + ": " + said.join("; "));
  canvas.setAttribute("role", "img");
}
