// Devices (#/devices): each GPU's memory and utilisation and the job running there, and the CPU; with the SLURM
// executor, the partition's nodes.
import { api } from "./api.js";
import { el } from "./dom.js";
import { clearView, every } from "./router.js";

// A node of the SLURM partition: its state, GPUs, CPUs and memory as SLURM allocates them, and Kiln's jobs there.
function nodeCard(d) {
  const share = (used, total, label) => el("div", { class: "bar" },
    el("span", { style: { width: (total ? (100 * used / total).toFixed(1) : 0) + "%" } }), el("em", {}, label));
  const gib = (b) => (b / 2 ** 30).toFixed(1);
  return el("div", { class: "card device" }, el("h2", {}, d.name, " ", el("span", { class: "muted" }, `${d.partition} · ${d.state}`)),
    share(d.gpusAllocated, d.gpus, `${d.gpusAllocated} / ${d.gpus} GPUs`),
    share(d.cpusAllocated, d.cpus, `${d.cpusAllocated} / ${d.cpus} CPUs`),
    share(d.memoryUsedBytes, d.memoryTotalBytes, `${gib(d.memoryUsedBytes)} / ${gib(d.memoryTotalBytes)} GiB`),
    el("p", {}, d.jobs.length ? d.jobs.map((j) => el("a", { href: "#/job/" + j }, "job " + j + " "))
      : el("span", { class: "muted" }, "no Kiln job")));
}

export function devicesView() {
  const v = clearView();
  const box = el("div");
  v.append(el("h1", {}, "Devices"), box);
  every(async () => {
    try {
      const devices = await api("/devices");
      box.replaceChildren(...devices.map((d) => {
        if (d.kind === "node") return nodeCard(d);
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
