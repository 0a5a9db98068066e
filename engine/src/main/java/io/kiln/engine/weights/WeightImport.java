package io.kiln.engine.weights;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.nn.Layer;
import io.kiln.engine.nn.Model;
import io.kiln.engine.nn.ModuleNames;
import io.kiln.engine.nn.Param;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Loads PyTorch-named weights into a Kiln model: each parameter and batch-norm statistic by its
 * {@link ModuleNames} key ({@code conv1.weight}, {@code bn1.running_mean}, {@code layer2.0.downsample.0.weight},
 * {@code fc.bias}). Batch norm's {@code num_batches_tracked} counters are ignored (Kiln's momentum is fixed), as is
 * a {@code module.} prefix that {@code nn.DataParallel} puts on every key. Anything else that does not fit is
 * reported at once: every missing, unexpected and mis-shaped tensor.
 */
public final class WeightImport {
    private static final int LISTED = 20;

    private WeightImport() {
    }

    /**
     * What was loaded.
     *
     * @param loaded    the PyTorch names loaded
     * @param freshHead the Kiln names of the last layer's tensors that kept their fresh initialisation because the
     *                  file's have another shape (another number of classes)
     * @param ignored   the file's tensors deliberately skipped ({@code num_batches_tracked})
     */
    public record Result(List<String> loaded, List<String> freshHead, List<String> ignored) {
    }

    private record Target(String kilnName, Tensor tensor, boolean head) {
    }

    /**
     * Loads {@code tensors} into {@code model}.
     *
     * @param allowNewHead whether the last layer with parameters may differ in shape (it then keeps its fresh
     *                     initialisation); any other difference is an error
     * @throws WeightsException listing every missing, unexpected and mis-shaped tensor
     */
    public static Result load(Backend backend, Model model, Map<String, WeightTensor> tensors, String source,
                              boolean allowNewHead) {
        ModuleNames names = ModuleNames.of(model);
        Map<String, WeightTensor> file = stripDataParallel(tensors);
        List<Param> params = model.params();
        String headLayer = params.isEmpty() ? "" : layerOf(params.get(params.size() - 1).name());
        Map<String, Target> expected = new LinkedHashMap<>();
        for (Param p : params) {
            expected.put(names.torchTensor(p.name()), new Target(p.name(), p.value(), layerOf(p.name()).equals(headLayer)));
        }
        for (Layer.NamedTensor b : model.buffers()) {
            expected.put(names.torchTensor(b.name()), new Target(b.name(), b.tensor(), false));
        }
        List<String> missing = new ArrayList<>();
        List<String> misShaped = new ArrayList<>();
        List<String> notFloat = new ArrayList<>();
        List<String> fresh = new ArrayList<>();
        for (Map.Entry<String, Target> e : expected.entrySet()) {
            WeightTensor w = file.get(e.getKey());
            Target t = e.getValue();
            if (w == null) {
                missing.add(e.getKey());
            } else if (!Arrays.equals(w.shape(), t.tensor().shape())) {
                if (t.head() && allowNewHead) {
                    fresh.add(t.kilnName());
                } else {
                    misShaped.add(e.getKey() + " is " + w.shapeText() + " in the file but "
                            + Arrays.toString(t.tensor().shape()) + " in the model");
                }
            } else if (!w.floating()) {
                notFloat.add(e.getKey() + " (" + w.dtype() + ")");
            }
        }
        List<String> unexpected = new ArrayList<>();
        List<String> ignored = new ArrayList<>();
        for (String key : file.keySet()) {
            if (!expected.containsKey(key)) {
                if (key.endsWith(".num_batches_tracked")) {
                    ignored.add(key);
                } else {
                    unexpected.add(key);
                }
            }
        }
        if (!missing.isEmpty() || !unexpected.isEmpty() || !misShaped.isEmpty() || !notFloat.isEmpty()) {
            StringBuilder m = new StringBuilder(source).append(": the weights do not fit the model ")
                    .append(model.preset() != null ? "(preset " + model.preset() + ")" : "(its layer list)")
                    .append(": it has ").append(expected.size()).append(" tensors, the file ")
                    .append(file.size() - ignored.size()).append(" (not counting num_batches_tracked)");
            append(m, "missing from the file", missing);
            append(m, "unexpected in the file", unexpected);
            append(m, "wrong shape", misShaped);
            append(m, "not floating point", notFloat);
            if (!fresh.isEmpty()) {
                m.append("; the last layer's differing shape alone would be fine (a new head)");
            }
            throw new WeightsException(m.toString());
        }
        List<String> loaded = new ArrayList<>();
        for (Map.Entry<String, Target> e : expected.entrySet()) {
            if (!fresh.contains(e.getValue().kilnName())) {
                backend.upload(file.get(e.getKey()).values(), e.getValue().tensor());
                loaded.add(e.getKey());
            }
        }
        return new Result(loaded, fresh, ignored);
    }

    private static void append(StringBuilder m, String what, List<String> items) {
        if (items.isEmpty()) {
            return;
        }
        m.append("; ").append(what).append(" (").append(items.size()).append("): ")
                .append(String.join(", ", items.subList(0, Math.min(LISTED, items.size()))));
        if (items.size() > LISTED) {
            m.append(", and ").append(items.size() - LISTED).append(" more");
        }
    }

    private static Map<String, WeightTensor> stripDataParallel(Map<String, WeightTensor> tensors) {
        if (tensors.isEmpty() || !tensors.keySet().stream().allMatch(k -> k.startsWith("module."))) {
            return tensors;
        }
        Map<String, WeightTensor> out = new LinkedHashMap<>();
        tensors.forEach((k, v) -> out.put(k.substring("module.".length()), v));
        return out;
    }

    private static String layerOf(String tensorName) {
        return tensorName.substring(0, tensorName.lastIndexOf('.'));
    }
}
