// Files a student pastes into a report: a chart as PNG, a table as CSV, saved by the browser as downloads.
import { el, toast } from "./dom.js";

/** Saves a blob as a download of this name (a link to it, clicked, then let go). */
export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: filename });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

/** A button that saves the canvas (a chart or the heat map) as a PNG file. */
export function pngButton(canvas, filename) {
  return el("button", { class: "export", title: "Save this chart as a PNG image", onclick: () => canvas.toBlob((b) => {
    if (b) saveBlob(b, filename); else toast("the chart could not be drawn as PNG");
  }, "image/png") }, "PNG");
}

// RFC 4180 cells; a text cell a spreadsheet would run as a formula gets a leading ' (as the service's CSV does).
function cell(v) {
  if (v === null || v === undefined || (typeof v === "number" && !Number.isFinite(v))) return "";
  if (typeof v === "number") return String(v);
  let s = String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = "'" + s;
  return /[",\n\r]/.test(s) || s !== s.trim() ? '"' + s.replace(/"/g, '""') + '"' : s;
}

export const csvText = (header, rows) => [header, ...rows].map((r) => r.map(cell).join(",")).join("\n") + "\n";

/** A button that saves a table, as rows() gives it when clicked, as a CSV file. */
export function csvButton(label, filename, header, rows) {
  return el("button", { class: "export", onclick: () => saveBlob(new Blob([csvText(header, rows())], { type: "text/csv" }), filename) }, label);
}
