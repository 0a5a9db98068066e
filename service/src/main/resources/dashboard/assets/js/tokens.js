// Tokens (#/tokens?user=U): a user's API tokens, each revocable; admins pick whose.
import { api } from "./api.js";
import { el, toast } from "./dom.js";
import { clearView, route } from "./router.js";
import { currentUser, useToken } from "./session.js";

export function tokensView(_, params) {
  const v = clearView();
  const me = currentUser() || {};
  const user = params.get("user") || me.name;
  const body = el("tbody");
  const note = el("p", { class: "muted" });
  const pick = el("form", { class: "card", onsubmit: (e) => { e.preventDefault(); location.hash = "#/tokens?user=" + encodeURIComponent(input.value.trim()); } });
  const input = el("input", { value: user, "aria-label": "user", size: 20 });
  pick.append("Tokens of ", input, " ", el("button", { type: "submit" }, "Show"));
  v.append(el("h1", {}, "API tokens of " + user), me.admin ? pick : "",
    el("div", { class: "card" }, el("table", { id: "tokens" }, el("thead", {}, el("tr", {}, ["Id", "Label", "Created", "Last used", "Expires", ""]
      .map((h) => el("th", {}, h)))), body), note));
  note.textContent = "A revoked token is refused at once, on every Kiln server. New tokens come from an admin.";
  const when = (t) => t ? new Date(t).toLocaleString() : "–";
  const load = async () => {
    try {
      const tokens = await api(`/users/${encodeURIComponent(user)}/tokens`);
      body.replaceChildren(...tokens.map((t) => {
        const inUse = me.token && me.token.id === t.id;
        return el("tr", { class: "token", "data-id": t.id }, el("td", {}, t.id), el("td", {}, t.label || el("span", { class: "muted" }, "no label"),
            inUse ? el("span", { class: "muted" }, " (this browser's)") : ""),
          el("td", {}, when(t.createdAt)), el("td", {}, when(t.lastUsedAt)), el("td", {}, t.expired ? el("span", { class: "error" }, "expired") : when(t.expiresAt)),
          el("td", {}, el("button", { class: "danger", onclick: () => revoke(user, t, inUse, load) }, "Revoke")));
      }));
      if (!tokens.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "empty" }, "No tokens.")));
    } catch (e) { body.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "error" }, e.message))); }
  };
  load();
}

async function revoke(user, token, inUse, reload) {
  const what = `token ${token.id}${token.label ? " (" + token.label + ")" : ""} of ${user}`;
  if (!confirm(`Revoke ${what}?` + (inUse ? " This browser signs in with it: you will need another token." : ""))) return;
  try {
    await api(`/users/${encodeURIComponent(user)}/tokens/${token.id}`, { method: "DELETE" });
    toast(what + " revoked");
    if (inUse) { await useToken(""); route(); return; }
    reload();
  } catch (e) { toast(e.message); }
}
