package io.kiln.engine.weights;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.checkpoint.ModelState;
import io.kiln.engine.data.Normalization;
import io.kiln.engine.nn.Model;
import io.kiln.engine.nn.ModuleNames;
import io.kiln.engine.nn.Param;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.spec.SpecParser;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A Kiln checkpoint made from pretrained PyTorch or safetensors weights for one of the presets: the model's
 * weights and batch-norm statistics, and what prediction and fine-tuning need beside them (a spec naming the
 * preset and the evaluation preprocessing, class names, input shape, normalisation). Epoch 0, no optimizer state.
 */
public final class PretrainedCheckpoint {
    private static final ObjectMapper JSON = new ObjectMapper();

    private PretrainedCheckpoint() {
    }

    /**
     * What to build.
     *
     * @param classes       the number of classes, or null for as many as the file's last layer has; when it
     *                      differs, the last layer is new (initialised from {@code seed})
     * @param inputShape    [C, H, W] of the images the model takes
     * @param normalize     {@code imagenet}, {@code scale} or {@code none}
     * @param resize        the evaluation images' shorter side before their centre crop of H (square inputs only);
     *                      0 to resize images straight to H x W
     * @param classNames    names of the classes, or null for {@code 0}, {@code 1}, ...
     * @param presetOptions options beside the preset (e.g. {@code width}), or null
     */
    public record Options(String preset, Integer classes, int[] inputShape, String normalize, int resize,
                          List<String> classNames, long seed, ObjectNode presetOptions) {
    }

    /** The checkpoint, what the import did, and the class count it settled on. */
    public record Imported(Checkpoint checkpoint, WeightImport.Result result, int classes) {
    }

    public static Imported create(Path weights, Options o) throws IOException {
        if (!List.of("imagenet", "scale", "none").contains(o.normalize())) {
            throw new SpecException("normalize", "must be imagenet, scale or none, got \"" + o.normalize() + "\"");
        }
        Map<String, WeightTensor> tensors = WeightFiles.read(weights);
        JobSpec spec = SpecParser.parse(spec(weights, o));
        try (CpuBackend cpu = new CpuBackend()) {
            int classes = o.classes() != null ? o.classes() : headRows(cpu, spec, o.inputShape(), tensors);
            if (o.classNames() != null && o.classNames().size() != classes) {
                throw new SpecException("classNames", o.classNames().size() + " class names for " + classes + " classes");
            }
            try (Model model = Model.build(cpu, spec, o.inputShape(), classes)) {
                WeightImport.Result result = WeightImport.load(cpu, model, tensors, weights.toString(), o.classes() != null);
                ObjectNode info = info(o, classes, weights, result);
                Checkpoint ckpt = ModelState.capture(cpu, model, null, spec.json(), 0, 0, info);
                return new Imported(ckpt, result, classes);
            }
        }
    }

    /** The rows of the file's last-layer weight (its classes); 1 when the file lacks it (the import then says so). */
    private static int headRows(CpuBackend cpu, JobSpec spec, int[] inputShape, Map<String, WeightTensor> tensors) {
        try (Model probe = Model.build(cpu, spec, inputShape, 1)) {
            List<Param> params = probe.params();
            String head = ModuleNames.of(probe).torchTensor(params.get(params.size() - 1).name());
            String weight = head.substring(0, head.lastIndexOf('.')) + ".weight";
            WeightTensor w = tensors.containsKey(weight) ? tensors.get(weight) : tensors.get("module." + weight);
            return w == null || w.shape().length == 0 || w.shape()[0] < 1 ? 1 : w.shape()[0];
        }
    }

    private static ObjectNode spec(Path weights, Options o) {
        ObjectNode s = JSON.createObjectNode();
        s.put("name", o.preset() + " from " + weights.getFileName());
        ObjectNode data = s.putObject("data");
        data.put("name", "pretrained");
        data.put("normalize", o.normalize());
        int[] in = o.inputShape();
        if (o.resize() > 0 && in.length == 3 && in[1] == in[2]) {
            data.putObject("transform").put("resize", o.resize()).put("centerCrop", in[1]);
        }
        ObjectNode model = s.putObject("model");
        ArrayNode input = model.putArray("input");
        for (int d : in) {
            input.add(d);
        }
        model.put("preset", o.preset());
        if (o.presetOptions() != null) {
            o.presetOptions().fields().forEachRemaining(e -> model.set(e.getKey(), e.getValue()));
        }
        s.putObject("optimizer").put("type", "sgd").put("lr", 0.001).put("momentum", 0.9);
        s.putObject("training").put("epochs", 1).put("batchSize", 32).put("seed", o.seed());
        return s;
    }

    private static ObjectNode info(Options o, int classes, Path weights, WeightImport.Result result) {
        ObjectNode info = JSON.createObjectNode();
        ArrayNode names = info.putArray("classNames");
        for (int k = 0; k < classes; k++) {
            names.add(o.classNames() != null ? o.classNames().get(k) : Integer.toString(k));
        }
        ArrayNode shape = info.putArray("inputShape");
        for (int d : o.inputShape()) {
            shape.add(d);
        }
        Normalization n = Normalization.of(o.normalize(), null, null, null);
        ObjectNode norm = info.putObject("normalization");
        norm.put("kind", n.kind().specName());
        if (n.mean() != null) {
            ArrayNode mean = norm.putArray("mean");
            ArrayNode std = norm.putArray("std");
            for (int c = 0; c < n.mean().length; c++) {
                mean.add(n.mean()[c]);
                std.add(n.std()[c]);
            }
        }
        info.put("importedFrom", weights.getFileName().toString());
        ArrayNode fresh = info.putArray("newHead");
        result.freshHead().forEach(fresh::add);
        return info;
    }
}
