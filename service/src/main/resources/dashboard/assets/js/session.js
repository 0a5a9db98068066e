// Who the token signs in as (the header's "signed in as"); pages ask it what the user may do.
import { api, hasToken, setToken } from "./api.js";

let me = null;

/** The signed-in user ({name, admin, token}), or null. */
export const currentUser = () => me;

export async function identify() {
  const who = document.getElementById("whoami");
  if (!hasToken()) { who.textContent = ""; me = null; return; }
  try { me = await api("/me"); who.textContent = "signed in as " + me.name + (me.admin && me.name !== "admin" ? " (admin)" : ""); }
  catch (e) { me = null; who.textContent = "token not accepted"; }
}

export async function useToken(token) {
  setToken(token);
  await identify();
}
