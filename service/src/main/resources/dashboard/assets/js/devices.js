// Devices (#/devices): each GPU's memory and utilisation and the job running there, and the CPU.
import { api } from "./api.js";
import { el } from "./dom.js";
import { clearView, every } from "./router.js";

export function devicesView() {
  const v = clearView();
  const box = el("div");
  v.append(el("h1", {}, "Devices"), box);
  every(async () => {
    try {
      const devices = await api("/devices");
      box.replaceChildren(...devices.map((d) => {
        const used = d.memoryUsedBytes || 0, total = d.memoryTotalBytes || 0;
        return el("div", { class: "card device" }, el("h2", {}, d.name, " ", el("span", { class: "muted" }, d.model || (d.cores ? d.cores + " cores" : ""))),
          el("div", { class: "bar" }, el("span", { style: { width: (total ? (100 * used / total).toFixed(1) : 0) + "%" } }),
            el("em", {}, `${(used / 2 ** 30).toFixed(1)} / ${(total / 2 ** 30).toFixed(1)} GiB`)),
          el("p", {}, d.utilization !== null && d.utilization !== undefined ? `utilisation ${(100 * d.utilization).toFixed(0)}%` : ""),
          el("p", {}, d.job ? el("a", { href: "#/job/" + d.job }, "running job " + d.job) : el("span", { class: "muted" }, d.kind === "cpu" && !d.slot ? "not used for jobs" : "idle")),
          d.gpuUnavailable ? el("p", { class: "muted" }, "No GPU: " + d.gpuUnavailable) : "");
      }));
    } catch (e) { box.replaceChildren(el("p", { class: "error" }, e.message)); }
  });
}
