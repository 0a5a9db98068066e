// Kiln dashboard: a single page over the REST API (/api/v1), polling every couple of seconds.
"use strict";

const API = "/api/v1";
const REFRESH_MS = 2000;
const state = { token: localStorage.getItem("kiln.token") || "", me: null, timer: null, charts: [] };

// ---- helpers ----------------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    // styles through the CSSOM: the page's Content-Security-Policy refuses style attributes
    else if (k === "style") Object.assign(e.style, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// Every error answer of the service is {status, message, field}: the message is for a person, shown as it is.
async function refusal(res) {
  let message = res.status + " " + res.statusText;
  try { const body = JSON.parse(await res.text()); if (body && body.message) message = body.message; } catch (e) { /* not JSON */ }
  const error = new Error(res.status === 401 ? message + " (enter a valid API token, top right)" : message);
  error.status = res.status;
  return error;
}

async function request(path, options = {}) {
  const headers = Object.assign({ "Accept": "application/json" }, options.headers || {});
  if (state.token) headers["Authorization"] = "Bearer " + state.token;
  const res = await fetch(API + path, Object.assign({}, options, { headers }));
  if (!res.ok) throw await refusal(res);
  return res;
}

async function api(path, options = {}) {
  const text = await (await request(path, options)).text();
  try { return text ? JSON.parse(text) : null; } catch (e) { return text; }
}

async function apiText(path) {
  return (await request(path, { headers: { "Accept": "text/plain" } })).text();
}

async function download(path, filename, open) {
  let res;
  try { res = await request(path, { headers: { "Accept": "*/*" } }); } catch (e) { toast(e.message); return; }
  const url = URL.createObjectURL(await res.blob());
  if (open) { window.open(url, "_blank"); return; }
  const a = el("a", { href: url, download: filename });
  document.body.append(a); a.click(); a.remove();
}

function toast(msg) {
  const t = document.getElementById("toast");
  t.textContent = msg; t.style.display = "block";
  clearTimeout(toast.timer); toast.timer = setTimeout(() => { t.style.display = "none"; }, 4000);
}

const fmt = (v, d = 4) => (v === null || v === undefined || Number.isNaN(v)) ? "–" : Number(v).toFixed(d);
const finished = (s) => s === "SUCCEEDED" || s === "FAILED" || s === "CANCELLED";

function fraction(job) {
  if (job.state === "SUCCEEDED") return 1;
  const p = job.progress || {};
  if (!p.epochs) return 0;
  const inEpoch = p.steps ? p.step / p.steps : 0;
  return Math.max(0, Math.min(1, (Math.max(p.epoch, 1) - 1 + inEpoch) / p.epochs));
}

function eta(job) {
  if (job.state !== "RUNNING" || !job.startedAt) return "";
  const f = fraction(job);
  if (f <= 0.01) return "";
  const elapsed = (Date.now() - Date.parse(job.startedAt)) / 1000;
  const left = Math.round(elapsed * (1 - f) / f);
  return left >= 3600 ? Math.floor(left / 3600) + "h" + String(Math.floor(left % 3600 / 60)).padStart(2, "0")
                      : Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
}

function progressBar(job) {
  const f = fraction(job), p = job.progress || {};
  const label = p.epochs ? `${Math.round(100 * f)}% · epoch ${Math.max(p.epoch, job.state === "QUEUED" ? 0 : 1)}/${p.epochs}` : "";
  return el("div", { class: "bar", title: label }, el("span", { style: { width: (100 * f).toFixed(1) + "%" } }), el("em", {}, label));
}

const badge = (s) => el("span", { class: "state " + s }, s);
const canCancel = (job) => !finished(job.state) && state.me && (state.me.admin || state.me.name === job.user);

async function cancel(job) {
  if (!confirm(`Cancel job ${job.id} (${job.name})?`)) return;
  try { await api(`/jobs/${job.id}/cancel`, { method: "POST" }); toast(`job ${job.id}: cancel requested`); route(); }
  catch (e) { toast(e.message); }
}

function clearView() {
  clearInterval(state.timer);
  state.charts.forEach((c) => c.destroy());
  state.charts = [];
  const v = document.getElementById("view");
  v.replaceChildren();
  return v;
}

function every(fn) {
  fn();
  state.timer = setInterval(fn, REFRESH_MS);
}

function lineChart(canvas, title, yLabel, datasets, xLabel = "epoch") {
  const chart = new Chart(canvas, {
    type: "line",
    data: { datasets },
    options: {
      animation: false, responsive: true, maintainAspectRatio: false, parsing: false, normalized: true,
      plugins: { title: { display: true, text: title }, legend: { position: "bottom" } },
      scales: { x: { type: "linear", title: { display: true, text: xLabel },
                     ticks: xLabel === "epoch" ? { stepSize: 1, precision: 0 } : { precision: 0 } },
                y: { title: { display: true, text: yLabel } } },
      elements: { point: { radius: 0 }, line: { borderWidth: 2 } },
    },
  });
  state.charts.push(chart);
  return chart;
}

const COLORS = ["#c2410c", "#1565c0", "#2e7d32", "#6a1b9a", "#00838f", "#f9a825", "#ad1457", "#4e342e"];
// Epoch series show their points; step series (many points) are plain lines.
const series = (label, points, i, perStep) => ({ label, data: points, borderColor: COLORS[i % COLORS.length],
  backgroundColor: COLORS[i % COLORS.length], pointRadius: perStep ? 0 : 3 });

// ---- views -------------------------------------------------------------------------------------------

const selected = new Set();

function jobsView() {
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

function jobView(id) {
  const v = clearView();
  const head = el("div", { class: "card" });
  const lossCanvas = el("canvas", { id: "chart-step-loss" });
  const epochLossCanvas = el("canvas", { id: "chart-epoch-loss" });
  const accCanvas = el("canvas", { id: "chart-accuracy" });
  const log = el("pre", { class: "log", id: "log" });
  const logRefused = el("p", { class: "error refused", id: "log-refused", hidden: true });
  v.append(el("h1", {}, "Job " + id), head,
    el("div", { class: "grid" },
      el("div", { class: "card" }, el("div", { class: "chart" }, lossCanvas)),
      el("div", { class: "card" }, el("div", { class: "chart" }, epochLossCanvas)),
      el("div", { class: "card" }, el("div", { class: "chart" }, accCanvas))),
    el("div", { class: "card" }, el("h2", {}, "Log"), logRefused, log));
  const stepLoss = lineChart(lossCanvas, "Training loss per step", "loss", [series("loss", [], 0, true)], "step");
  const epochLoss = lineChart(epochLossCanvas, "Loss per epoch", "loss", [series("train", [], 0), series("validation", [], 1)]);
  const acc = lineChart(accCanvas, "Accuracy per epoch", "accuracy", [series("train", [], 0), series("validation", [], 1)]);
  let done = false;
  every(async () => {
    if (done) return;
    try {
      const [job, metrics] = await Promise.all([api("/jobs/" + id), api(`/jobs/${id}/metrics?maxPoints=400`)]);
      renderJobHead(head, job);
      // the log is its owner's and the admins' unless shared: a refusal says why and who may share it
      let text = "";
      try {
        text = await apiText(`/jobs/${id}/log`);
        logRefused.hidden = true; log.hidden = false;
      } catch (e) {
        if (e.status !== 403) throw e;
        logRefused.textContent = e.message; logRefused.hidden = false; log.hidden = true;
      }
      stepLoss.data.datasets[0].data = metrics.steps.filter((p) => p.loss !== null).map((p) => ({ x: p.globalStep, y: p.loss }));
      const ep = metrics.epochs;
      epochLoss.data.datasets[0].data = ep.map((p) => ({ x: p.epoch, y: p.train_loss }));
      epochLoss.data.datasets[1].data = ep.filter((p) => p.val_loss !== null).map((p) => ({ x: p.epoch, y: p.val_loss }));
      acc.data.datasets[0].data = ep.map((p) => ({ x: p.epoch, y: p.train_acc }));
      acc.data.datasets[1].data = ep.filter((p) => p.val_acc !== null).map((p) => ({ x: p.epoch, y: p.val_acc }));
      for (const c of [stepLoss, epochLoss, acc]) c.update();
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 20;
      log.textContent = text.length > 200000 ? text.slice(-200000) : text;
      if (atBottom) log.scrollTop = log.scrollHeight;
      done = finished(job.state);
      document.body.dataset.jobState = job.state;
    } catch (e) { head.replaceChildren(el("p", { class: "error" }, e.message)); }
  });
}

function renderJobHead(head, job) {
  const m = job.metrics || {}, spec = job.spec || {};
  const opt = spec.optimizer || {}, tr = spec.training || {};
  const may = job.permissions || {};
  const buttons = [
    canCancel(job) ? el("button", { class: "danger", onclick: () => cancel(job) }, "Cancel") : null,
    may.results && job.progress && job.progress.epoch > 0 ? el("button", { onclick: () => download(`/jobs/${job.id}/checkpoint`, `job-${job.id}.kiln`) }, "Download checkpoint") : null,
    may.results && job.state === "SUCCEEDED" ? el("button", { onclick: () => download(`/jobs/${job.id}/report`, "", true) }, "Open report") : null,
    may.share ? el("button", { id: "share", onclick: () => share(job, !job.shared) }, job.shared ? "Stop sharing" : "Share with the lab") : null,
  ];
  head.replaceChildren(
    el("dl", { class: "facts" },
      el("dt", {}, "name"), el("dd", {}, job.name), el("dt", {}, "state"), el("dd", {}, badge(job.state), " ", job.error ? el("span", { class: "error" }, job.error) : ""),
      el("dt", {}, "user"), el("dd", {}, job.user), el("dt", {}, "device"), el("dd", {}, job.device || "–"),
      el("dt", {}, "results"), el("dd", { id: "sharing" }, job.shared ? "shared with the lab: log, report, checkpoint, predictions, fine-tuning"
        : `private: ${job.user}'s and the admins'`),
      ...(job.sweepId ? [el("dt", {}, "sweep"), el("dd", {}, el("a", { href: "#/sweep/" + job.sweepId }, "sweep " + job.sweepId))] : []),
      el("dt", {}, "progress"), el("dd", {}, progressBar(job), " ", eta(job) ? "ETA " + eta(job) : ""),
      el("dt", {}, "latest"), el("dd", {}, `loss ${fmt(m.loss)} · train acc ${fmt(m.train_acc)} · val acc ${fmt(m.val_acc)} · test acc ${fmt(m.test_acc)} · ${fmt(m.samples_per_s, 0)} samples/s`),
      el("dt", {}, "recipe"), el("dd", {}, `${spec.data ? spec.data.name : "?"} · ${describeModel(spec.model)} · ${opt.type || "sgd"} lr ${opt.lr} · batch ${tr.batchSize || 100} · ${tr.epochs || "?"} epochs`)),
    el("p", {}, ...buttons.filter(Boolean)));
}

async function share(job, shared) {
  try {
    await api("/jobs/" + job.id, { method: "PATCH", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ shared }) });
    toast(`job ${job.id}: ` + (shared ? "shared with the lab" : "no longer shared"));
    route();
  } catch (e) { toast(e.message); }
}

function describeModel(model) {
  if (!model) return "?";
  if (model.preset) return model.preset + (model.hidden ? " " + JSON.stringify(model.hidden) : "");
  return (model.layers || []).map((l) => l.type + (l.units ? l.units : "") + (l.filters ? l.filters : "")).join("-");
}

function compareView(params) {
  const v = clearView();
  const ids = (params.get("ids") || "").split(",").map((s) => s.trim()).filter(Boolean);
  const input = el("input", { value: ids.join(","), placeholder: "job ids, e.g. 3,4,7", size: 30 });
  const table = el("tbody");
  const valCanvas = el("canvas", { id: "chart-compare-acc" });
  const lossCanvas = el("canvas", { id: "chart-compare-loss" });
  v.append(el("h1", {}, "Compare jobs"),
    el("form", { class: "card", onsubmit: (e) => { e.preventDefault(); location.hash = "#/compare?ids=" + input.value.replace(/\s/g, ""); } },
      input, " ", el("button", { class: "primary", type: "submit" }, "Compare")),
    el("div", { class: "grid" }, el("div", { class: "card" }, el("div", { class: "chart" }, valCanvas)),
      el("div", { class: "card" }, el("div", { class: "chart" }, lossCanvas))),
    el("div", { class: "card" }, el("table", { id: "summary" }, el("thead", {}, el("tr", {}, ["Job", "Name", "State",
      "Best val acc", "at epoch", "Test acc", "Epochs", "Time (s)", "Model", "Optimizer", "lr", "Batch"].map((h) => el("th", {}, h)))), table)));
  if (!ids.length) { table.append(el("tr", {}, el("td", { colspan: 12, class: "empty" }, "Tick jobs in the queue, or type their ids."))); return; }
  const acc = lineChart(valCanvas, "Validation accuracy", "accuracy", []);
  const loss = lineChart(lossCanvas, "Training loss per epoch", "loss", []);
  every(async () => {
    try {
      const rows = await Promise.all(ids.map(async (id) => [await api("/jobs/" + id), await api(`/jobs/${id}/metrics?maxPoints=1`)]));
      acc.data.datasets = rows.map(([j, m], i) => series(`${j.id} ${j.name}`, m.epochs.filter((p) => p.val_acc !== null).map((p) => ({ x: p.epoch, y: p.val_acc })), i));
      loss.data.datasets = rows.map(([j, m], i) => series(`${j.id} ${j.name}`, m.epochs.map((p) => ({ x: p.epoch, y: p.train_loss })), i));
      acc.update(); loss.update();
      table.replaceChildren(...rows.map(([j, m]) => {
        let best = null;
        for (const p of m.epochs) if (p.val_acc !== null && (!best || p.val_acc > best.val_acc)) best = p;
        const seconds = m.epochs.reduce((s, p) => s + (p.seconds || 0), 0);
        const spec = j.spec || {}, opt = spec.optimizer || {}, tr = spec.training || {};
        return el("tr", {}, el("td", {}, el("a", { href: "#/job/" + j.id }, j.id)), el("td", {}, j.name), el("td", {}, badge(j.state)),
          el("td", {}, best ? fmt(best.val_acc) : "–"), el("td", {}, best ? best.epoch : "–"), el("td", {}, fmt((j.metrics || {}).test_acc)),
          el("td", {}, m.epochs.length), el("td", {}, seconds.toFixed(1)), el("td", {}, describeModel(spec.model)),
          el("td", {}, opt.type || "sgd"), el("td", {}, opt.lr), el("td", {}, tr.batchSize || 100));
      }));
    } catch (e) { table.replaceChildren(el("tr", {}, el("td", { colspan: 12, class: "error" }, e.message))); }
  });
}

function devicesView() {
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

function sweepView(id) {
  const v = clearView();
  const table = el("tbody");
  const canvas = el("canvas", { id: "chart-sweep" });
  const head = el("p", { class: "muted" });
  v.append(el("h1", {}, "Sweep " + id), head,
    el("div", { class: "card" }, el("table", { id: "sweep" }, el("thead", {}, el("tr", {}, ["", "Values", "Job", "State",
      "Best val acc", "at epoch", "Test acc", "Time (s)"].map((h) => el("th", {}, h)))), table)),
    el("div", { class: "card" }, el("div", { class: "chart" }, canvas)));
  const chart = lineChart(canvas, "Best validation accuracy per point", "accuracy", [series("best val acc", [], 0)], "point");
  every(async () => {
    try {
      const s = await api("/sweeps/" + id);
      head.replaceChildren(`${s.name} · ${s.user} · `, badge(s.state), s.best ? " · best: " + values(s.best.values) : "");
      table.replaceChildren(...s.points.map((p) => {
        const best = s.best && s.best.jobId === p.jobId;
        return el("tr", { class: best ? "best" : "" }, el("td", {}, best ? "★" : ""), el("td", {}, values(p.values)),
          el("td", {}, el("a", { href: "#/job/" + p.jobId }, p.jobId)), el("td", {}, badge(p.state)),
          el("td", {}, fmt(p.bestValAcc)), el("td", {}, p.bestEpoch || "–"), el("td", {}, fmt(p.testAcc)), el("td", {}, fmt(p.seconds, 1)));
      }));
      chart.data.datasets[0].data = s.points.map((p, i) => ({ x: i + 1, y: p.bestValAcc })).filter((p) => p.y !== null);
      chart.update();
    } catch (e) { head.replaceChildren(el("span", { class: "error" }, e.message)); }
  });
}

function tokensView(params) {
  const v = clearView();
  const me = state.me || {};
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
    if (inUse) { state.token = ""; localStorage.removeItem("kiln.token"); await identify(); route(); return; }
    reload();
  } catch (e) { toast(e.message); }
}

const values = (vals) => Object.entries(vals || {}).map(([k, v]) => k.replace(/.*\./, "") + "=" + JSON.stringify(v)).join(", ");

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

function submitView() {
  const v = clearView();
  const text = el("textarea", { id: "spec", spellcheck: "false", "aria-label": "job spec" });
  text.value = JSON.stringify(PRESETS["Fashion-MNIST MLP"], null, 2);
  const pick = el("select", { id: "preset", onchange: () => { text.value = JSON.stringify(PRESETS[pick.value], null, 2); } },
    ...Object.keys(PRESETS).map((k) => el("option", { value: k }, k)));
  const out = el("p", { id: "submit-result" });
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

// ---- routing and token -------------------------------------------------------------------------------

function route() {
  const hash = location.hash || "#/jobs";
  const [path, query] = hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean);
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === (parts[0] === "job" ? "jobs" : parts[0])));
  if (!state.token) {
    clearView().append(el("div", { class: "card empty" }, "Enter your API token (top right) to see the lab's jobs."));
    return;
  }
  switch (parts[0]) {
    case "job": return jobView(parts[1]);
    case "compare": return compareView(new URLSearchParams(query || ""));
    case "sweep": return sweepView(parts[1]);
    case "devices": return devicesView();
    case "submit": return submitView();
    case "tokens": return tokensView(new URLSearchParams(query || ""));
    default: return jobsView();
  }
}

async function identify() {
  const who = document.getElementById("whoami");
  if (!state.token) { who.textContent = ""; state.me = null; return; }
  try { state.me = await api("/me"); who.textContent = "signed in as " + state.me.name + (state.me.admin && state.me.name !== "admin" ? " (admin)" : ""); }
  catch (e) { state.me = null; who.textContent = "token not accepted"; }
}

document.getElementById("token-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const input = document.getElementById("token");
  state.token = input.value.trim();
  localStorage.setItem("kiln.token", state.token);
  input.value = "";
  await identify();
  route();
});
window.addEventListener("hashchange", route);
identify().then(route);
