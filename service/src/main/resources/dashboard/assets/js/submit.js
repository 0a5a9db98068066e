// Submit (#/submit, #/submit?from=ID): a job spec pasted, started from a preset or cloned from a job, posted to the
// queue.
import { api } from "./api.js";
import { el } from "./dom.js";
import { clearView } from "./router.js";

const PRESETS = {
  "Fashion-MNIST MLP": { name: "fashion-mlp", data: { name: "fashion-mnist", validationSplit: 0.1 },
    model: { input: [1, 28, 28], layers: [{ type: "flatten" }, { type: "dense", units: 100 }, { type: "relu" }, { type: "dense", units: 10 }] },
    loss: "softmax_cross_entropy", optimizer: { type: "sgd", lr: 0.01, momentum: 0.9 }, training: { epochs: 10, batchSize: 100, seed: 0 }, device: "auto" },
  "Fashion-MNIST CNN": { name: "fashion-cnn", data: { name: "fashion-mnist", validationSplit: 0.1 },
    model: { layers: [{ type: "conv2d", filters: 32, kernel: 3 }, { type: "relu" }, { type: "conv2d", filters: 64, kernel: 3 }, { type: "relu" },
      { type: "maxpool2d", size: 2 }, { type: "flatten" }, { type: "dense", units: 128 }, { type: "relu" }, { type: "dense", units: 10 }] },
    optimizer: { type: "sgd", lr: 0.01, momentum: 0.9 }, training: { epochs: 5, batchSize: 100 }, device: "auto" },
  "Softmax regression": { name: "softmax", data: { name: "fashion-mnist", validationSplit: 0.1 }, model: { preset: "softmax" },
    optimizer: { type: "sgd", lr: 0.1 }, training: { epochs: 5, batchSize: 100 } },
  "Linear SVM": { name: "svm", data: { name: "fashion-mnist", validationSplit: 0.1 }, model: { preset: "svm" }, loss: "multiclass_hinge",
    optimizer: { type: "sgd", lr: 0.01, weightDecay: 0.0001 }, training: { epochs: 5, batchSize: 100 } },
  "ResNet20 (CIFAR-10)": { name: "resnet20", data: { name: "cifar-10", validationSplit: 0.1, normalize: "standardize", augment: { crop: 4, flip: true } },
    model: { preset: "resnet20" }, optimizer: { type: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 0.0001, schedule: { type: "cosine" } },
    training: { epochs: 50, batchSize: 128 }, device: "auto" },
};

export function submitView(_, params) {
  const v = clearView();
  const text = el("textarea", { id: "spec", spellcheck: "false", "aria-label": "job spec" });
  text.value = JSON.stringify(PRESETS["Fashion-MNIST MLP"], null, 2);
  const pick = el("select", { id: "preset", onchange: () => { text.value = JSON.stringify(PRESETS[pick.value], null, 2); } },
    ...Object.keys(PRESETS).map((k) => el("option", { value: k }, k)));
  const out = el("p", { id: "submit-result" });
  const from = params && params.get("from");
  if (from) {
    // Clone: the job's spec as it was submitted, to edit before submitting
    text.value = "";
    api("/jobs/" + encodeURIComponent(from)).then((job) => { text.value = JSON.stringify(job.spec, null, 2); out.textContent = `the spec of job ${job.id} (${job.name}), to edit`; })
      .catch((e) => { out.className = "error"; out.textContent = e.message; });
  }
  const datasets = el("span", { class: "muted" });
  api("/datasets").then((ds) => { datasets.textContent = "datasets here: " + (ds.map((d) => d.name).join(", ") || "none"); }).catch(() => {});
  v.append(el("h1", {}, "Submit a job"),
    el("div", { class: "card" }, el("p", {}, "Start from ", pick, " · ", datasets), text,
      el("p", {}, el("button", { class: "primary", id: "submit", onclick: async () => {
        out.className = ""; out.textContent = "submitting...";
        try {
          const job = await api("/jobs", { method: "POST", headers: { "Content-Type": "application/json" }, body: text.value });
          out.textContent = "job " + job.id + " queued"; location.hash = "#/job/" + job.id;
        } catch (e) { out.className = "error"; out.textContent = e.message; }
      } }, "Submit")), out));
}
