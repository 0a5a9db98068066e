// What several pages show of a job: its state badge, progress bar and ETA, model in a few words, and Cancel.
import { api } from "./api.js";
import { el, toast } from "./dom.js";
import { route } from "./router.js";
import { currentUser } from "./session.js";

export const finished = (s) => s === "SUCCEEDED" || s === "FAILED" || s === "CANCELLED";

function fraction(job) {
  if (job.state === "SUCCEEDED") return 1;
  const p = job.progress || {};
  if (!p.epochs) return 0;
  const inEpoch = p.steps ? p.step / p.steps : 0;
  return Math.max(0, Math.min(1, (Math.max(p.epoch, 1) - 1 + inEpoch) / p.epochs));
}

export function eta(job) {
  if (job.state !== "RUNNING" || !job.startedAt) return "";
  const f = fraction(job);
  if (f <= 0.01) return "";
  const elapsed = (Date.now() - Date.parse(job.startedAt)) / 1000;
  const left = Math.round(elapsed * (1 - f) / f);
  return left >= 3600 ? Math.floor(left / 3600) + "h" + String(Math.floor(left % 3600 / 60)).padStart(2, "0")
                      : Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
}

export function progressBar(job) {
  const f = fraction(job), p = job.progress || {};
  const label = p.epochs ? `${Math.round(100 * f)}% · epoch ${Math.max(p.epoch, job.state === "QUEUED" ? 0 : 1)}/${p.epochs}` : "";
  return el("div", { class: "bar", title: label }, el("span", { style: { width: (100 * f).toFixed(1) + "%" } }), el("em", {}, label));
}

export const badge = (s) => el("span", { class: "state " + s }, s);

export function describeModel(model) {
  if (!model) return "?";
  if (model.preset) return model.preset + (model.hidden ? " " + JSON.stringify(model.hidden) : "");
  return (model.layers || []).map((l) => l.type + (l.units ? l.units : "") + (l.filters ? l.filters : "")).join("-");
}

export function canCancel(job) {
  const me = currentUser();
  return !finished(job.state) && me && (me.admin || me.name === job.user);
}

export async function cancel(job) {
  if (!confirm(`Cancel job ${job.id} (${job.name})?`)) return;
  try { await api(`/jobs/${job.id}/cancel`, { method: "POST" }); toast(`job ${job.id}: cancel requested`); route(); }
  catch (e) { toast(e.message); }
}
