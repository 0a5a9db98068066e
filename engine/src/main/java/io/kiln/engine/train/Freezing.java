package io.kiln.engine.train;

import io.kiln.engine.nn.Layer;
import io.kiln.engine.nn.Model;
import io.kiln.engine.nn.ModuleNames;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Applies {@code init.freeze}: the layers it selects keep their parameters and batch-norm statistics. */
final class Freezing {
    private Freezing() {
    }

    static void apply(Model model, JobSpec.Freeze freeze) {
        List<Layer> top = model.root().layers();
        if (freeze.allButLast()) {
            int head = -1;
            for (int i = 0; i < top.size(); i++) {
                if (!top.get(i).params().isEmpty()) {
                    head = i;
                }
            }
            for (int i = 0; i < head; i++) {
                top.get(i).setFrozen(true);
            }
        }
        ModuleNames names = null;
        for (int k = 0; k < freeze.entries().size(); k++) {
            Object e = freeze.entries().get(k);
            String field = "init.freeze[" + k + "]";
            if (e instanceof Integer index) {
                if (index >= top.size()) {
                    throw new SpecException("init.freeze", "layer " + index + " does not exist: the model has layers 0 to "
                            + (top.size() - 1));
                }
                top.get(index).setFrozen(true);
                continue;
            }
            String name = (String) e;
            names = names != null ? names : ModuleNames.of(model);
            List<String> selected = names.select(name);
            if (selected.isEmpty()) {
                throw new SpecException(field, "no layer with weights is called \"" + name + "\"; this model's are "
                        + choices(names));
            }
            for (Layer l : model.root().allLayers()) {
                if (selected.contains(l.name())) {
                    l.setFrozen(true);
                }
            }
        }
        model.refreshBackward();
    }

    /** The names to choose from, briefly: PyTorch's top-level modules and Kiln's top-level layers with weights. */
    private static String choices(ModuleNames names) {
        Set<String> torch = new LinkedHashSet<>();
        Set<String> kiln = new LinkedHashSet<>();
        for (Map.Entry<String, String> e : names.layers().entrySet()) {
            String t = e.getValue();
            torch.add(t.contains(".") ? t.substring(0, t.indexOf('.')) : t);
            String[] parts = e.getKey().split("\\.");
            kiln.add(parts.length > 1 ? parts[0] + "." + parts[1] : e.getKey());
        }
        List<String> k = new ArrayList<>(kiln);
        String kilnText = k.size() <= 6 ? String.join(", ", k) : k.get(0) + " ... " + k.get(k.size() - 1);
        return String.join(", ", torch) + " (and their parts, e.g. "
                + names.layers().values().stream().filter(v -> v.contains(".")).findFirst().orElse(
                        names.layers().values().iterator().next()) + "), or Kiln's " + kilnText
                + ", or \"all-but-last\"";
    }
}
