package io.kiln.engine.onnx;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.LossKind;
import io.kiln.engine.backend.PoolMode;
import io.kiln.engine.nn.Layer;
import io.kiln.engine.nn.Model;
import io.kiln.engine.nn.Param;
import io.kiln.engine.nn.Residual;
import io.kiln.engine.nn.Sequential;
import io.kiln.engine.onnx.OnnxModelBuilder.Attr;
import io.kiln.engine.spec.LayerSpec;
import io.kiln.engine.tensor.Tensor;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A Kiln classifier as an ONNX model (opset 13) in evaluation mode: dense layers as {@code Gemm}, convolutions,
 * max and average pooling (padding counted in the average, as Kiln does), activations, batch normalisation with
 * its running statistics, flatten, residual blocks as {@code Add}, and dropout as {@code Identity}. The input
 * {@code input} is {@code [batch, C, H, W]} with a symbolic batch size; the output {@code logits} holds the raw
 * class scores, and {@code probabilities} their softmax (sigmoid for a logistic model) where the loss gives them
 * a meaning. Class names and the preprocessing go into the model's metadata.
 */
public final class OnnxExporter {
    private static final ObjectMapper JSON = new ObjectMapper();
    public static final String INPUT = "input";
    public static final String LOGITS = "logits";
    public static final String PROBABILITIES = "probabilities";

    private final Backend backend;
    private final OnnxModelBuilder onnx = new OnnxModelBuilder();
    private final Map<String, Tensor> tensors = new HashMap<>();
    private int names;

    private OnnxExporter(Backend backend, Model model) {
        this.backend = backend;
        for (Param p : model.params()) {
            tensors.put(p.name(), p.value());
        }
        for (Layer.NamedTensor b : model.buffers()) {
            tensors.put(b.name(), b.tensor());
        }
    }

    /**
     * The ONNX bytes of {@code model}.
     *
     * @param metadata string entries for the model's metadata (class names, preprocessing, source), each value
     *                 written as JSON text unless it is a string
     */
    public static byte[] export(Backend backend, Model model, LossKind loss, Map<String, JsonNode> metadata,
                                String graphName, String doc) {
        OnnxExporter e = new OnnxExporter(backend, model);
        e.onnx.input(INPUT, model.inputShape());
        String out = e.sequence(model.root(), model.specs(), INPUT);
        int[] outShape = model.outputShape();
        e.onnx.node("Identity", List.of(out), LOGITS);
        e.onnx.output(LOGITS, outShape);
        if (loss == LossKind.SOFTMAX_CROSS_ENTROPY) {
            e.onnx.node("Softmax", List.of(LOGITS), PROBABILITIES, Attr.of("axis", 1L));
            e.onnx.output(PROBABILITIES, outShape);
        } else if (loss == LossKind.LOGISTIC) {
            e.onnx.node("Sigmoid", List.of(LOGITS), PROBABILITIES);
            e.onnx.output(PROBABILITIES, outShape);
        }
        metadata.forEach((k, v) -> e.onnx.metadata(k, v.isTextual() ? v.asText() : v.toString()));
        String version = OnnxExporter.class.getPackage().getImplementationVersion();
        return e.onnx.build(graphName, version == null ? "development" : version, doc);
    }

    private String sequence(Sequential seq, List<LayerSpec> specs, String input) {
        List<Layer> layers = seq.layers();
        if (layers.size() != specs.size()) {
            throw new IllegalStateException(seq.name() + " has " + layers.size() + " layers but " + specs.size() + " specs");
        }
        String x = input;
        for (int i = 0; i < layers.size(); i++) {
            x = layer(layers.get(i), specs.get(i), x);
        }
        return x;
    }

    private String layer(Layer l, LayerSpec spec, String x) {
        String n = l.name();
        return switch (spec) {
            case LayerSpec.Dense d -> {
                String in = l.inputShape().length > 1 ? onnx.node("Flatten", List.of(x), fresh(n + ".flat"),
                        Attr.of("axis", 1L)) : x;
                yield onnx.node("Gemm", prepend(in, weights(n, d.bias())), n + ".out", Attr.of("transB", 1L));
            }
            case LayerSpec.Conv2d c -> {
                List<String> in = prepend(x, weights(n, c.bias()));
                yield onnx.node("Conv", in, n + ".out", Attr.ints("kernel_shape", c.kernel(), c.kernel()),
                        Attr.ints("strides", c.stride(), c.stride()),
                        Attr.ints("pads", c.padding(), c.padding(), c.padding(), c.padding()));
            }
            case LayerSpec.Pool2d p -> p.mode() == PoolMode.MAX
                    ? onnx.node("MaxPool", List.of(x), n + ".out", Attr.ints("kernel_shape", p.size(), p.size()),
                            Attr.ints("strides", p.stride(), p.stride()),
                            Attr.ints("pads", p.padding(), p.padding(), p.padding(), p.padding()))
                    : onnx.node("AveragePool", List.of(x), n + ".out", Attr.ints("kernel_shape", p.size(), p.size()),
                            Attr.ints("strides", p.stride(), p.stride()),
                            Attr.ints("pads", p.padding(), p.padding(), p.padding(), p.padding()),
                            Attr.of("count_include_pad", 1L));
            case LayerSpec.Act a -> onnx.node(switch (a.function()) {
                case RELU -> "Relu";
                case SIGMOID -> "Sigmoid";
                case TANH -> "Tanh";
            }, List.of(x), n + ".out");
            case LayerSpec.Dropout d -> onnx.node("Identity", List.of(x), n + ".out");
            case LayerSpec.BatchNorm b -> batchNorm(l, b, x);
            case LayerSpec.Flatten f -> onnx.node("Flatten", List.of(x), n + ".out", Attr.of("axis", 1L));
            case LayerSpec.Residual r -> {
                Residual res = (Residual) l;
                String body = sequence(res.body(), r.body(), x);
                String shortcut = r.shortcut().isEmpty() ? x : sequence(res.shortcut(), r.shortcut(), x);
                yield onnx.node("Add", List.of(body, shortcut), n + ".out");
            }
        };
    }

    private String batchNorm(Layer l, LayerSpec.BatchNorm b, String x) {
        String n = l.name();
        for (String part : List.of("gamma", "beta", "running_mean", "running_var")) {
            initializer(n + "." + part);
        }
        List<String> params = List.of(n + ".gamma", n + ".beta", n + ".running_mean", n + ".running_var");
        // ONNX's momentum weighs the old running value, Kiln's (as PyTorch's) the new batch statistic.
        Attr eps = Attr.of("epsilon", (float) b.eps());
        Attr momentum = Attr.of("momentum", (float) (1 - b.momentum()));
        if (l.inputShape().length == 3) {
            return onnx.node("BatchNormalization", prepend(x, params), n + ".out", eps, momentum);
        }
        // [N, C] inputs: as [N, C, 1] for runtimes whose batch norm wants a spatial dimension
        String axes = fresh(n + ".axes");
        onnx.initializerInt64(axes, new long[] {2});
        String wide = onnx.node("Unsqueeze", List.of(x, axes), fresh(n + ".wide"));
        String normed = onnx.node("BatchNormalization", prepend(wide, params), fresh(n + ".bn"), eps, momentum);
        return onnx.node("Squeeze", List.of(normed, axes), n + ".out");
    }

    /** Registers the layer's weight and optional bias as initializers and returns their names. */
    private List<String> weights(String layer, boolean bias) {
        initializer(layer + ".weight");
        if (bias) {
            initializer(layer + ".bias");
            return List.of(layer + ".weight", layer + ".bias");
        }
        return List.of(layer + ".weight");
    }

    private void initializer(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalStateException("the model has no tensor " + name);
        }
        onnx.initializer(name, t.shape(), backend.toHost(t));
    }

    private static List<String> prepend(String x, List<String> rest) {
        List<String> all = new java.util.ArrayList<>();
        all.add(x);
        all.addAll(rest);
        return all;
    }

    private String fresh(String base) {
        return base + "_" + names++;
    }

    /** Metadata values as JSON. */
    public static JsonNode json(Object value) {
        return JSON.valueToTree(value);
    }
}
