package io.kiln.engine.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.PoolMode;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** Parses and checks a job spec; every rule it breaks is reported as a {@link SpecException} naming the field. */
public final class SpecParser {
    static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern DEVICE = Pattern.compile("auto|cpu|cuda(:\\d{1,2})?");
    private static final Pattern DATA_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    static final int MAX_LAYERS = 1000;
    /** The most pixels {@code data.pad} adds on a side. */
    static final int MAX_PAD = 64;

    private SpecParser() {
    }

    public static JobSpec parse(String json) {
        return parse(JsonText.read(json, "the spec"));
    }

    public static JobSpec parse(JsonNode root) {
        SpecReader r = SpecReader.of(root, "");
        String name = r.string("name", "job");
        if (name.isBlank() || name.length() > 200) {
            throw new SpecException("name", "must be 1 to 200 characters");
        }
        JobSpec.Data data = data(r.object("data"));
        JobSpec.Model model = model(r.object("model"));
        String loss = r.choice("loss", "softmax_cross_entropy", JobSpec.LOSSES);
        boolean captioning = "captioning".equals(model.preset());
        if (captioning != loss.equals("temporal_softmax")) {
            throw new SpecException("loss", captioning ? "the captioning preset trains with \"temporal_softmax\", got \""
                    + loss + "\"" : "temporal_softmax is the loss of \"model\": {\"preset\": \"captioning\"}");
        }
        JobSpec.Optimizer optimizer = optimizer(r.object("optimizer"));
        SpecReader t = r.optionalObject("training");
        JobSpec.Training training = t == null ? new JobSpec.Training(10, 100, 0, "fp32") : training(t);
        String device = r.string("device", "auto");
        if (!DEVICE.matcher(device).matches()) {
            throw new SpecException("device", "must be auto, cpu, cuda or cuda:N, got \"" + device + "\"");
        }
        SpecReader i = r.optionalObject("init");
        JobSpec.Init init = i == null ? null : startFrom(i);
        r.finish();
        return new JobSpec(name, data, model, loss, optimizer, training, device, init, root);
    }

    private static JobSpec.Init startFrom(SpecReader r) {
        String checkpoint = r.has("checkpoint") ? r.string("checkpoint", null) : null;
        String fromJob = r.has("fromJob") ? r.raw("fromJob").asText() : null;
        r.raw("fromJob");
        String model = r.has("model") ? r.string("model", null) : null;
        int given = (checkpoint != null ? 1 : 0) + (fromJob != null ? 1 : 0) + (model != null ? 1 : 0);
        if (given != 1) {
            throw new SpecException(r.field(checkpoint != null ? "checkpoint" : fromJob != null ? "fromJob" : "model"),
                    "give one of \"checkpoint\" (a file), \"fromJob\" (a job id) or \"model\" (an uploaded model's "
                    + "name)" + (given > 1 ? ", not several" : ""));
        }
        if (fromJob != null && fromJob.isBlank()) {
            throw new SpecException(r.field("fromJob"), "must be a job id");
        }
        if (model != null && !DATA_NAME.matcher(model).matches()) {
            throw new SpecException(r.field("model"), "must be a model's name (1 to 100 letters, digits, '.', '_' or "
                    + "'-'), got \"" + model + "\"");
        }
        JobSpec.Freeze freeze = freeze(r.raw("freeze"), r.field("freeze"));
        r.finish();
        return new JobSpec.Init(checkpoint, fromJob, model, freeze);
    }

    static final String ALL_BUT_LAST = "all-but-last";

    private static JobSpec.Freeze freeze(JsonNode v, String field) {
        if (v == null || v.isNull()) {
            return JobSpec.Freeze.NONE;
        }
        if (v.isTextual()) {
            if (!v.asText().equals(ALL_BUT_LAST)) {
                throw new SpecException(field, "must be \"" + ALL_BUT_LAST + "\" or an array of layer indices and "
                        + "names, got " + SpecReader.describe(v));
            }
            return new JobSpec.Freeze(List.of(), true);
        }
        if (!v.isArray() || v.size() > MAX_LAYERS) {
            throw new SpecException(field, "must be \"" + ALL_BUT_LAST + "\" or an array of at most " + MAX_LAYERS
                    + " layer indices and names, got " + SpecReader.describe(v));
        }
        List<Object> entries = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode e = v.get(i);
            String f = field + "[" + i + "]";
            if (e.isTextual()) {
                String name = e.asText();
                if (name.isBlank() || name.length() > 200) {
                    throw new SpecException(f, "must be a layer name of 1 to 200 characters");
                }
                if (name.equals(ALL_BUT_LAST)) {
                    throw new SpecException(f, "\"" + ALL_BUT_LAST + "\" stands alone: \"freeze\": \"" + ALL_BUT_LAST + "\"");
                }
                entries.add(name);
            } else {
                entries.add(SpecReader.checkInt(e, f, null, 0, MAX_LAYERS - 1));
            }
        }
        return new JobSpec.Freeze(List.copyOf(entries), false);
    }

    private static JobSpec.Data data(SpecReader r) {
        String name = r.string("name", null);
        if (!DATA_NAME.matcher(name).matches()) {
            throw new SpecException(r.field("name"), "must be a folder name under the data root (letters, digits, "
                    + "'.', '_', '-'; no path separators), got \"" + name + "\"");
        }
        double split = r.number("validationSplit", 0.0, 0.0, false, 0.9);
        String normalize = r.choice("normalize", "scale", List.of("scale", "standardize", "none", "imagenet"));
        float[] mean = floats(r, "mean");
        float[] std = floats(r, "std");
        if ((mean == null) != (std == null)) {
            throw new SpecException(r.field(mean == null ? "mean" : "std"), "mean and std must be given together");
        }
        if (mean != null) {
            if (!normalize.equals("standardize")) {
                throw new SpecException(r.field("mean"), "mean and std need \"normalize\": \"standardize\"");
            }
            if (mean.length != std.length) {
                throw new SpecException(r.field("std"), "must have as many entries as mean (" + mean.length + ")");
            }
            for (int i = 0; i < std.length; i++) {
                if (!(std[i] > 0)) {
                    throw new SpecException(r.field("std") + "[" + i + "]", "must be > 0");
                }
            }
        }
        JobSpec.Augment augment = JobSpec.Augment.NONE;
        SpecReader a = r.optionalObject("augment");
        if (a != null) {
            augment = new JobSpec.Augment(a.integer("crop", 0, 0, 64), a.bool("flip", false));
            a.finish();
        }
        SpecReader t = r.optionalObject("transform");
        JobSpec.Transform transform = t == null ? null : TransformParser.parse(t);
        if (transform != null && a != null) {
            throw new SpecException(r.field("augment"), "cannot be combined with data.transform; use "
                    + "data.transform.flip (and randomResizedCrop) instead");
        }
        int[] resize = r.intArray("resize", 2, 2, 1, TransformParser.MAX_SIDE);
        int pad = r.integer("pad", 0, 0, MAX_PAD);
        if (transform != null && (resize != null || pad > 0)) {
            throw new SpecException(r.field(resize != null ? "resize" : "pad"), "cannot be combined with "
                    + "data.transform, which sizes the images itself (resize, centerCrop)");
        }
        JobSpec.Captions captions = JobSpec.Captions.DEFAULT;
        if (r.has("features") || r.has("maxTrain") || r.has("maxVal")) {
            String features = r.has("features") ? r.choice("features", null, List.of("fc7", "fc7_pca")) : null;
            captions = new JobSpec.Captions(features, r.integer("maxTrain", 0, 0, 100_000_000),
                    r.integer("maxVal", JobSpec.Captions.DEFAULT_MAX_VAL, 0, 100_000_000));
        }
        r.finish();
        return new JobSpec.Data(name, split, normalize, mean, std, augment, transform, resize, pad, captions);
    }

    private static float[] floats(SpecReader r, String name) {
        JsonNode v = r.raw(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isArray() || v.isEmpty() || v.size() > 16) {
            throw new SpecException(r.field(name), "must be an array of 1 to 16 numbers (one per channel)");
        }
        float[] out = new float[v.size()];
        for (int i = 0; i < out.length; i++) {
            if (!v.get(i).isNumber()) {
                throw new SpecException(r.field(name) + "[" + i + "]", "must be a number, got " + SpecReader.describe(v.get(i)));
            }
            out[i] = (float) v.get(i).asDouble();
        }
        return out;
    }

    private static JobSpec.Model model(SpecReader r) {
        int[] input = r.intArray("input", 1, 3, 1, 65536);
        boolean hasLayers = r.has("layers");
        boolean hasPreset = r.has("preset");
        if (hasLayers == hasPreset) {
            throw new SpecException(r.field(hasLayers ? "preset" : "layers"),
                    "give either \"layers\" or \"preset\"" + (hasLayers ? ", not both" : ""));
        }
        if (hasLayers) {
            List<LayerSpec> layers = layers(r, "layers", 0);
            if (layers.isEmpty()) {
                throw new SpecException(r.field("layers"), "must hold at least one layer");
            }
            r.finish();
            return new JobSpec.Model(input, layers, null, null);
        }
        String preset = r.choice("preset", null, Presets.NAMES);
        // The preset's own options live beside it in the model object; Presets checks them.
        var options = r.node().deepCopy();
        options.remove(List.of("preset", "input"));
        Presets.checkOptions(preset, SpecReader.of(options, r.path()));
        return new JobSpec.Model(input, null, preset, options);
    }

    static List<LayerSpec> layers(SpecReader parent, String name, int depth) {
        List<SpecReader> items = parent.objectList(name, true);
        if (items.size() > MAX_LAYERS) {
            throw new SpecException(parent.field(name), "at most " + MAX_LAYERS + " layers, got " + items.size());
        }
        List<LayerSpec> out = new ArrayList<>();
        for (SpecReader l : items) {
            out.add(layer(l, depth));
        }
        return out;
    }

    private static final List<String> LAYER_TYPES = List.of("dense", "conv2d", "maxpool2d", "avgpool2d", "relu",
            "sigmoid", "tanh", "dropout", "batchnorm", "flatten", "residual");

    private static LayerSpec layer(SpecReader l, int depth) {
        String type = l.choice("type", null, LAYER_TYPES);
        LayerSpec spec = switch (type) {
            case "dense" -> new LayerSpec.Dense(l.integer("units", null, 1, 1 << 20), l.bool("bias", true), init(l));
            case "conv2d" -> new LayerSpec.Conv2d(l.integer("filters", null, 1, 1 << 16),
                    l.integer("kernel", null, 1, 64), l.integer("stride", 1, 1, 64),
                    l.integer("padding", 0, 0, 64), l.bool("bias", true), init(l));
            case "maxpool2d", "avgpool2d" -> {
                int size = l.integer("size", 2, 1, 64);
                int stride = l.integer("stride", size, 1, 64);
                int padding = l.integer("padding", 0, 0, 64);
                if (padding >= size) {
                    throw new SpecException(l.field("padding"), "must be smaller than size (" + size + "), got " + padding);
                }
                yield new LayerSpec.Pool2d(type.equals("maxpool2d") ? PoolMode.MAX : PoolMode.AVERAGE, size, stride, padding);
            }
            case "relu" -> new LayerSpec.Act(Activation.RELU);
            case "sigmoid" -> new LayerSpec.Act(Activation.SIGMOID);
            case "tanh" -> new LayerSpec.Act(Activation.TANH);
            case "dropout" -> new LayerSpec.Dropout(l.number("rate", 0.5, 0.0, false, 0.99));
            case "batchnorm" -> new LayerSpec.BatchNorm(l.number("momentum", 0.1, 0.0, true, 1.0),
                    l.number("eps", 1e-5, 0.0, true, 1.0));
            case "flatten" -> new LayerSpec.Flatten();
            case "residual" -> {
                if (depth >= 8) {
                    throw new SpecException(l.path(), "residual blocks nest at most 8 deep");
                }
                List<LayerSpec> body = layers(l, "layers", depth + 1);
                if (body.isEmpty()) {
                    throw new SpecException(l.field("layers"), "must hold at least one layer");
                }
                List<LayerSpec> shortcut = l.has("shortcut") ? layers(l, "shortcut", depth + 1) : List.of();
                yield new LayerSpec.Residual(body, shortcut);
            }
            default -> throw new IllegalStateException(type);
        };
        l.finish();
        return spec;
    }

    private static LayerSpec.Init init(SpecReader l) {
        return l.choice("init", "he", List.of("he", "xavier")).equals("he") ? LayerSpec.Init.HE : LayerSpec.Init.XAVIER;
    }

    private static JobSpec.Optimizer optimizer(SpecReader r) {
        String type = r.choice("type", "sgd", List.of("sgd", "rmsprop", "adam"));
        double lr = r.number("lr", null, 0.0, true, 100.0);
        double wd = r.number("weightDecay", 0.0, 0.0, false, 10.0);
        double momentum = 0;
        boolean nesterov = false;
        double alpha = 0.99;
        double beta1 = 0.9;
        double beta2 = 0.999;
        double eps = 1e-8;
        switch (type) {
            case "sgd" -> {
                momentum = r.number("momentum", 0.0, 0.0, false, 0.999);
                nesterov = r.bool("nesterov", false);
                if (nesterov && momentum == 0) {
                    throw new SpecException(r.field("nesterov"), "needs a momentum > 0");
                }
            }
            case "rmsprop" -> {
                alpha = r.number("alpha", 0.99, 0.0, false, 0.9999);
                eps = r.number("eps", 1e-8, 0.0, true, 1.0);
            }
            case "adam" -> {
                beta1 = r.number("beta1", 0.9, 0.0, false, 0.9999);
                beta2 = r.number("beta2", 0.999, 0.0, false, 0.99999);
                eps = r.number("eps", 1e-8, 0.0, true, 1.0);
            }
            default -> throw new IllegalStateException(type);
        }
        JobSpec.Schedule schedule = null;
        SpecReader s = r.optionalObject("schedule");
        if (s != null) {
            String st = s.choice("type", null, List.of("step", "cosine"));
            if (st.equals("step")) {
                schedule = new JobSpec.Schedule(st, s.integer("every", null, 1, 100000),
                        s.number("gamma", 0.1, 0.0, true, 1.0), 0);
            } else {
                double minLr = s.number("minLr", 0.0, 0.0, false, lr);
                schedule = new JobSpec.Schedule(st, 0, 0, minLr);
            }
            s.finish();
        }
        r.finish();
        return new JobSpec.Optimizer(type, lr, momentum, nesterov, wd, alpha, beta1, beta2, eps, schedule);
    }

    private static JobSpec.Training training(SpecReader t) {
        int epochs = t.integer("epochs", 10, 1, 10000);
        int batch = t.integer("batchSize", 100, 1, 65536);
        long seed = t.longValue("seed", 0);
        String precision = t.string("precision", "fp32");
        if (precision.equals("fp16")) {
            throw new SpecException(t.field("precision"), "fp16 is not supported yet; use fp32 or tf32");
        }
        if (!precision.equals("fp32") && !precision.equals("tf32")) {
            throw new SpecException(t.field("precision"), "must be one of [fp32, tf32], got \"" + precision + "\"");
        }
        t.finish();
        return new JobSpec.Training(epochs, batch, seed, precision);
    }
}
