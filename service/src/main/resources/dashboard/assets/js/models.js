// Models (#/models): the pretrained models the signed-in user may fine-tune from with init.model.
import { api } from "./api.js";
import { el } from "./dom.js";
import { clearView } from "./router.js";

export function modelsView() {
  const v = clearView();
  const body = el("tbody");
  v.append(el("h1", {}, "Pretrained models"),
    el("div", { class: "card" }, el("table", { id: "models" }, el("thead", {}, el("tr", {},
      ["Name", "Owner", "Format", "Size", "Tensors", "Parameters", "Shared"].map((h) => el("th", {}, h)))), body)),
    el("p", { class: "muted" }, "Yours and the shared ones (an admin sees all). Upload with POST /api/v1/models "
      + "(name, file: a torch.save state dict or safetensors); fine-tune with \"init\": {\"model\": NAME} in a spec."));
  const load = async () => {
    try {
      const models = await api("/models");
      body.replaceChildren(...models.map((m) => el("tr", { class: "model", "data-name": m.name },
        el("td", {}, m.name), el("td", {}, m.user), el("td", {}, m.format),
        el("td", {}, `${(m.bytes / 2 ** 20).toFixed(1)} MiB`), el("td", {}, String(m.tensors)),
        el("td", {}, m.parameters.toLocaleString()), el("td", {}, m.shared ? "shared" : "private"))));
      if (!models.length) body.append(el("tr", {}, el("td", { colspan: 7, class: "empty" }, "No models.")));
    } catch (e) { body.replaceChildren(el("tr", {}, el("td", { colspan: 7, class: "error" }, e.message))); }
  };
  load();
}
