// What several pages show of a job: its state badge (with SLURM's reason while SLURM holds it back), progress bar and ETA, model in a few words, and Cancel.
import { api } from "./api.js";
import { el, toast } from "./dom.js";
import { route } from "./router.js";
import { currentUser } from "./session.js";

export const finished = (s) => s === "SUCCEEDED" || s === "FAILED" || s === "CANCELLED";

function fraction(job) {
  if (job.state === "SUCCEEDED") return 1;
  const p = job.progress || {};
  if (!p.epochs || job.state === "QUEUED" && !job.attempts) return 0;
  const inEpoch = p.steps ? p.step / p.steps : 0;
  return Math.max(0, Math.min(1, (Math.max(p.epoch, 1) - 1 + inEpoch) / p.epochs));
}

const clock = (seconds) => {
  const s = Math.round(seconds);
  return s >= 3600 ? Math.floor(s / 3600) + "h" + String(Math.floor(s % 3600 / 60)).padStart(2, "0")
                   : Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
};

/**
 * Time left, from the current attempt's throughput alone: a resumed job counts from the epoch it resumed after and
 * from when this attempt started, not from its first start.
 */
export function eta(job) {
  const started = job.attemptStartedAt || job.startedAt;
  if (job.state !== "RUNNING" || !started) return "";
  const p = job.progress || {};
  const f = fraction(job), f0 = p.epochs ? (p.resumedAfterEpoch || 0) / p.epochs : 0;
  if (f - f0 <= 0.01) return "";
  const elapsed = (Date.now() - Date.parse(started)) / 1000;
  return clock(elapsed * (1 - f) / (f - f0));
}

/** Running time over every attempt (a resumed job keeps its first attempt's). */
export const duration = (job) => (job.runningSeconds > 0 || job.startedAt ? clock(job.runningSeconds || 0) : "–");

/**
 * One vocabulary for every state: what a person reads on the bar. Epochs are counted as done (a queued job has
 * done none; a job cancelled before it started never ran); a running job shows the epoch it is in.
 */
export function progressLabel(job) {
  const p = job.progress || {};
  const of = p.epochs ? `/${p.epochs}` : "";
  const done = job.state === "SUCCEEDED" ? p.epochs : Math.max(0, (p.epoch || 0) - 1);
  switch (job.state) {
    case "QUEUED": return job.attempts ? `queued · resumes after epoch ${p.resumedAfterEpoch || done}${of}` : "queued";
    case "RUNNING": return `${Math.round(100 * fraction(job))}% · epoch ${Math.max(p.epoch || 0, 1)}${of}`;
    case "SUCCEEDED": return `done · ${p.epochs} epoch${p.epochs === 1 ? "" : "s"}`;
    case "CANCELLED": return job.attempts ? `cancelled · ${done}${of} epochs done` : "cancelled before it started";
    case "FAILED": return job.attempts ? `failed · ${done}${of} epochs done` : "failed before it started";
    default: return job.state;
  }
}

export function progressBar(job) {
  const f = fraction(job), label = progressLabel(job);
  return el("div", { class: "bar " + job.state, title: label }, el("span", { style: { width: (100 * f).toFixed(1) + "%" } }), el("em", {}, label));
}

/** When, as this browser's local time ("–" for never). */
export const when = (t) => (t ? new Date(t).toLocaleString() : "–");

export const badge = (s) => el("span", { class: "state " + s }, s);
// A job's state; for one the batch system (SLURM) holds back, SLURM's reason beside it.
export const stateOf = (job) => job.reason
  ? el("span", {}, badge(job.state), " ", el("span", { class: "muted", title: "SLURM's reason" }, job.reason)) : badge(job.state);

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
