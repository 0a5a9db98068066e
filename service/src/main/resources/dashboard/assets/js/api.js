// The REST API (/api/v1) with the browser's token: requests, and refusals turned into errors a person can read.
import { el, toast } from "./dom.js";

const API = "/api/v1";
const TOKEN_KEY = "kiln.token";
let token = localStorage.getItem(TOKEN_KEY) || "";

export const hasToken = () => token !== "";

/** Keeps the token in this browser (an empty one signs out). */
export function setToken(value) {
  token = value;
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

// Every error answer of the service is {status, message, field}: the message is for a person, shown as it is.
async function refusal(res) {
  let message = res.status + " " + res.statusText;
  try { const body = JSON.parse(await res.text()); if (body && body.message) message = body.message; } catch (e) { /* not JSON */ }
  const error = new Error(res.status === 401 ? message + " (enter a valid API token, top right)" : message);
  error.status = res.status;
  return error;
}

export async function request(path, options = {}) {
  const headers = Object.assign({ "Accept": "application/json" }, options.headers || {});
  if (token) headers["Authorization"] = "Bearer " + token;
  const res = await fetch(API + path, Object.assign({}, options, { headers }));
  if (!res.ok) throw await refusal(res);
  return res;
}

export async function api(path, options = {}) {
  const text = await (await request(path, options)).text();
  try { return text ? JSON.parse(text) : null; } catch (e) { return text; }
}

export async function apiText(path) {
  return (await request(path, { headers: { "Accept": "text/plain" } })).text();
}

/** Saves an answer as a file, or opens it in a new window: the token rides in a header, not in a link. */
export async function download(path, filename, open) {
  let res;
  try { res = await request(path, { headers: { "Accept": "*/*" } }); } catch (e) { toast(e.message); return; }
  const url = URL.createObjectURL(await res.blob());
  if (open) { window.open(url, "_blank"); return; }
  const a = el("a", { href: url, download: filename });
  document.body.append(a); a.click(); a.remove();
}
