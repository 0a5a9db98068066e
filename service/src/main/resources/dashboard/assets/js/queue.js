// The queue page (#/jobs): every job with its state, progress and latest accuracy; ticked jobs go to Compare.
import { api } from "./api.js";
import { el, fmt } from "./dom.js";
import { badge, cancel, canCancel, eta, progressBar } from "./job-parts.js";
import { clearView, every } from "./router.js";

// kept across visits to the page, so that jobs can be ticked, looked at, and ticked further
const selected = new Set();

export function queueView() {
  const v = clearView();
  const body = el("tbody");
  const compare = el("button", { class: "primary", onclick: () => { location.hash = "#/compare?ids=" + [...selected].join(","); } },
    "Compare selected");
  v.append(el("h1", {}, "Queue and recent jobs"),
    el("div", { class: "card" },
      el("table", { id: "jobs" }, el("thead", {}, el("tr", {}, ["", "Job", "Name", "User", "State", "Device", "Progress", "ETA",
        "Val acc", "Test acc", ""].map((h) => el("th", {}, h)))), body),
      el("p", {}, compare, " ", el("span", { class: "muted" }, "tick jobs to overlay their learning curves"))));
  every(async () => {
    try {
      const page = await api("/jobs?size=100");
      body.replaceChildren(...page.jobs.map(jobRow));
      if (!page.jobs.length) body.append(el("tr", {}, el("td", { colspan: 11, class: "empty" }, "No jobs yet: submit one.")));
    } catch (e) { body.replaceChildren(el("tr", {}, el("td", { colspan: 11, class: "error" }, e.message))); }
  });
}

function jobRow(job) {
  const m = job.metrics || {};
  const box = el("input", { type: "checkbox", "aria-label": "select job " + job.id, onclick: (e) => e.stopPropagation(),
    onchange: (e) => { e.target.checked ? selected.add(job.id) : selected.delete(job.id); } });
  box.checked = selected.has(job.id);
  const actions = canCancel(job) ? el("button", { class: "danger", onclick: (e) => { e.stopPropagation(); cancel(job); } }, "Cancel") : "";
  return el("tr", { class: "job", "data-id": job.id, onclick: () => { location.hash = "#/job/" + job.id; } },
    el("td", {}, box), el("td", {}, job.id), el("td", {}, job.name), el("td", {}, job.user), el("td", {}, badge(job.state)),
    el("td", {}, job.device || el("span", { class: "muted" }, job.requestedDevice)), el("td", {}, progressBar(job)),
    el("td", {}, eta(job)), el("td", {}, fmt(m.val_acc)), el("td", {}, fmt(m.test_acc)), el("td", {}, actions));
}
