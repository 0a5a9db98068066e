// The Sweeps page (#/sweeps?user=NAME&page=N): every sweep, newest first, with its state, points, best point and
// the retrained test accuracy; each links to its own page.
import { api } from "./api.js";
import { el, fmt } from "./dom.js";
import { badge } from "./job-parts.js";
import { clearView, every } from "./router.js";
import { values } from "./sweep.js";

const PAGE_SIZE = 50;

export function sweepsView(_, params) {
  const v = clearView();
  const user = params.get("user") || "";
  const page = Math.max(0, parseInt(params.get("page") || "0", 10) || 0);
  const input = el("input", { value: user, placeholder: "user (all when empty)", size: 20, "aria-label": "user" });
  const table = el("tbody");
  const pager = el("p", { class: "muted" });
  const link = (u, p) => "#/sweeps?" + new URLSearchParams(Object.assign(u ? { user: u } : {}, p ? { page: p } : {}));
  v.append(el("h1", {}, "Sweeps"),
    el("form", { class: "card", onsubmit: (e) => { e.preventDefault(); location.hash = link(input.value.trim(), 0); } },
      input, " ", el("button", { type: "submit" }, "Filter")),
    el("div", { class: "card" }, el("table", { id: "sweeps" }, el("thead", {}, el("tr", {}, ["Sweep", "Name", "User",
      "State", "Points", "Best", "Best val acc", "Retrained test acc", "Submitted"].map((h) => el("th", {}, h)))), table), pager));
  const query = new URLSearchParams({ page, size: PAGE_SIZE });
  if (user) query.set("user", user);
  every(async () => {
    try {
      const answer = await api("/sweeps?" + query);
      table.replaceChildren(...answer.sweeps.map((s) => el("tr", { class: "job", onclick: () => { location.hash = "#/sweep/" + s.id; } },
        el("td", {}, el("a", { href: "#/sweep/" + s.id }, s.id)), el("td", {}, s.name), el("td", {}, s.user), el("td", {}, badge(s.state)),
        el("td", {}, s.pointCount), el("td", {}, s.best ? values(s.best.values) : "–"), el("td", {}, s.best ? fmt(s.best.bestValAcc) : "–"),
        el("td", {}, s.retrained ? fmt(s.retrained.testAcc) : s.retrain ? "pending" : "–"),
        el("td", {}, new Date(s.submittedAt).toLocaleString()))));
      if (!answer.sweeps.length) table.append(el("tr", {}, el("td", { colspan: 9, class: "empty" }, "No sweeps yet: POST /api/v1/sweeps or bin/kiln sweep SWEEP.json.")));
      const pages = Math.max(1, Math.ceil(answer.total / PAGE_SIZE));
      pager.replaceChildren(`${answer.total} sweeps · page ${page + 1} of ${pages} `,
        page > 0 ? el("a", { href: link(user, page - 1) }, "newer") : "", " ",
        page + 1 < pages ? el("a", { href: link(user, page + 1) }, "older") : "");
    } catch (e) { table.replaceChildren(el("tr", {}, el("td", { colspan: 9, class: "error" }, e.message))); }
  });
}
