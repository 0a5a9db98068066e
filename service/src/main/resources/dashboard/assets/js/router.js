// Hash routes (#/page/arg?query), the nav's active link, and the one polling timer of the page shown.
import { hasToken } from "./api.js";
import { destroyCharts } from "./charts.js";
import { el } from "./dom.js";

const REFRESH_MS = 2000;
let timer = null;
let pages = {};  // first path segment -> page(argument, query)
let fallback = null;

/** Stops the last page's polling and charts, and empties the view for the next. */
export function clearView() {
  clearInterval(timer);
  destroyCharts();
  const v = document.getElementById("view");
  v.replaceChildren();
  return v;
}

/** Runs fn now and every couple of seconds, until the view changes. */
export function every(fn) {
  fn();
  timer = setInterval(fn, REFRESH_MS);
}

/** Shows the page the hash names; each page is called with its path argument and query. */
export function route() {
  const hash = location.hash || "#/jobs";
  const [path, query] = hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean);
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === ({ job: "jobs", sweep: "sweeps" }[parts[0]] || parts[0])));
  if (!hasToken()) {
    clearView().append(el("div", { class: "card empty" }, "Enter your API token (top right) to see the lab's jobs."));
    return;
  }
  // own keys only: #/toString is no page
  const page = Object.hasOwn(pages, parts[0] || "") ? pages[parts[0]] : fallback;
  return page(parts[1], new URLSearchParams(query || ""));
}

/** Routes by the first path segment to routes[segment], anything else to otherwise, from now on. */
export function startRouting(routes, otherwise) {
  pages = routes;
  fallback = otherwise;
  window.addEventListener("hashchange", route);
}
