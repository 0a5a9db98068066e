package io.kiln.engine.nn;

import io.kiln.engine.loss.Losses;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.LayerSpec;
import io.kiln.engine.spec.Presets;
import io.kiln.engine.spec.SpecException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * What a job's model needs, worked out from its spec and the data's sample shape and class count alone, before
 * anything is allocated: each layer's output shape and parameter count. Working it out applies every rule that
 * building the layers would (the declared input, a preset's smallest image, image inputs for conv2d and pooling,
 * kernels within the padded input, residual shapes) and two that building cannot report cleanly: a tensor too
 * large for Java's int-indexed arrays at the training batch size, and an output that does not fit the loss and
 * the classes. Each refusal is a {@link SpecException} naming the field and giving both figures.
 *
 * <p>The service checks submissions with it; {@link Model#build} checks again, as the second line.
 */
public final class ModelPlan {
    /** The most elements one tensor (an int-indexed float array) holds. */
    public static final long MAX_TENSOR_ELEMENTS = Integer.MAX_VALUE;

    /** One layer that holds tensors of its own (containers such as residual blocks hold none). */
    public record Leaf(String field, int[] outputShape, long parameters) {
    }

    private final int[] input;
    private final int batch;
    private final List<Leaf> leaves = new ArrayList<>();
    private int[] output;

    private ModelPlan(int[] input, int batch) {
        this.input = input.clone();
        this.batch = batch;
    }

    /**
     * The plan of a spec's model for samples of {@code sampleShape} ([C, H, W]) and {@code classes} classes,
     * trained at the spec's batch size.
     *
     * @throws SpecException for the first rule the model breaks
     */
    public static ModelPlan of(JobSpec spec, int[] sampleShape, int classes) {
        int[] declared = spec.model().input();
        if (declared != null && !Arrays.equals(declared, sampleShape)
                && !(declared.length == 1 && declared[0] == elements(sampleShape))) {
            throw new SpecException("model.input", "is " + Arrays.toString(declared) + " but the samples of "
                    + spec.data().name() + " are " + Arrays.toString(sampleShape) + " (channels, height, width)");
        }
        List<LayerSpec> layers = spec.model().layers() != null ? spec.model().layers()
                : Presets.expand(spec.model().preset(), spec.model().presetOptions(), sampleShape, classes);
        ModelPlan plan = new ModelPlan(sampleShape, spec.training().batchSize());
        plan.fits("model.input", sampleShape);
        plan.output = plan.sequence(layers, sampleShape, "model.layers");
        Losses.checkOutput(Losses.of(spec.loss()), plan.output, classes, spec.data().name());
        return plan;
    }

    /** The layers that hold tensors, in the order the model runs them. */
    public List<Leaf> leaves() {
        return List.copyOf(leaves);
    }

    public long parameters() {
        return leaves.stream().mapToLong(Leaf::parameters).sum();
    }

    public int[] inputShape() {
        return input.clone();
    }

    public int[] outputShape() {
        return output.clone();
    }

    public int batch() {
        return batch;
    }

    private int[] sequence(List<LayerSpec> specs, int[] in, String field) {
        int[] shape = in;
        for (int i = 0; i < specs.size(); i++) {
            shape = layer(specs.get(i), shape, field + "[" + i + "]");
        }
        return shape;
    }

    private int[] layer(LayerSpec spec, int[] in, String field) {
        return switch (spec) {
            case LayerSpec.Dense d -> {
                long in1 = elements(in);
                weights(field, "dense", new long[] {d.units(), in1});
                yield leaf(field, new int[] {d.units()}, (long) d.units() * in1 + (d.bias() ? d.units() : 0));
            }
            case LayerSpec.Conv2d c -> {
                image(field, "conv2d", in, " (is there a flatten or dense before it?)");
                if (in[1] + 2L * c.padding() < c.kernel() || in[2] + 2L * c.padding() < c.kernel()) {
                    throw new SpecException(field, "kernel " + c.kernel() + " is larger than the padded input "
                            + (in[1] + 2 * c.padding()) + "x" + (in[2] + 2 * c.padding()));
                }
                long[] filter = {c.filters(), in[0], c.kernel(), c.kernel()};
                weights(field, "conv2d", filter);
                int[] out = {c.filters(), (in[1] + 2 * c.padding() - c.kernel()) / c.stride() + 1,
                        (in[2] + 2 * c.padding() - c.kernel()) / c.stride() + 1};
                yield leaf(field, out, product(filter) + (c.bias() ? c.filters() : 0));
            }
            case LayerSpec.Pool2d p -> {
                image(field, p.mode() == io.kiln.engine.backend.PoolMode.MAX ? "maxpool2d" : "avgpool2d", in, "");
                if (in[1] + 2 * p.padding() < p.size() || in[2] + 2 * p.padding() < p.size()) {
                    throw new SpecException(field, "window " + p.size() + " is larger than the input " + in[1] + "x" + in[2]);
                }
                int[] out = {in[0], (in[1] + 2 * p.padding() - p.size()) / p.stride() + 1,
                        (in[2] + 2 * p.padding() - p.size()) / p.stride() + 1};
                yield leaf(field, out, 0);
            }
            case LayerSpec.Act a -> leaf(field, in, 0);
            case LayerSpec.Dropout d -> leaf(field, in, 0);
            case LayerSpec.BatchNorm b -> {
                if (in.length != 1 && in.length != 3) {
                    throw new SpecException(field, "batchnorm needs [C] or [C, H, W] inputs, got " + Arrays.toString(in));
                }
                yield leaf(field, in, 2L * in[0]);
            }
            case LayerSpec.Flatten f -> {
                long n = elements(in);
                fits(field, new long[] {n}, "flatten");
                yield leaf(field, new int[] {(int) n}, 0);
            }
            case LayerSpec.Residual r -> {
                int[] body = sequence(r.body(), in, field + ".layers");
                int[] shortcut = sequence(r.shortcut(), in, field + ".shortcut");
                if (!Arrays.equals(body, shortcut)) {
                    throw new SpecException(field, "the residual body gives " + Arrays.toString(body)
                            + " but the shortcut gives " + Arrays.toString(shortcut)
                            + (r.shortcut().isEmpty() ? " (the identity); add a shortcut, e.g. a strided 1x1 conv2d" : ""));
                }
                yield body;
            }
        };
    }

    private int[] leaf(String field, int[] out, long parameters) {
        fits(field, out);
        leaves.add(new Leaf(field, out.clone(), parameters));
        return out;
    }

    private static void image(String field, String type, int[] in, String hint) {
        if (in.length != 3) {
            throw new SpecException(field, type + " needs image inputs [C, H, W], but its input is "
                    + Arrays.toString(in) + hint);
        }
    }

    /** A layer's output, at the training batch size, must fit one tensor. */
    private void fits(String field, int[] perSample) {
        fits(field, Arrays.stream(perSample).asLongStream().toArray(), null);
    }

    private void fits(String field, long[] perSample, String what) {
        long n = product(perSample);
        long total = saturatingMultiply(n, batch);
        if (total <= MAX_TENSOR_ELEMENTS) {
            return;
        }
        String shape = Arrays.toString(perSample);
        if (n > MAX_TENSOR_ELEMENTS) {
            throw new SpecException(field, (what == null ? "gives " : what + " gives ") + shape + " per sample: "
                    + count(n) + " values, more than the " + count(MAX_TENSOR_ELEMENTS) + " one tensor holds; make the "
                    + "layers before it smaller");
        }
        throw new SpecException(field, "gives " + shape + " per sample: " + count(n) + " values, "
                + count(total) + " at training.batchSize " + batch + ", more than the " + count(MAX_TENSOR_ELEMENTS)
                + " one tensor holds; lower training.batchSize to at most " + MAX_TENSOR_ELEMENTS / n
                + " or make the layer smaller");
    }

    /** A layer's weights must fit one tensor. */
    private static void weights(String field, String type, long[] shape) {
        long n = product(shape);
        if (n > MAX_TENSOR_ELEMENTS) {
            throw new SpecException(field, type + " weights of " + Arrays.toString(shape) + " are " + count(n)
                    + " values, more than the " + count(MAX_TENSOR_ELEMENTS) + " one tensor holds");
        }
    }

    /** Elements of a shape, saturating at Long.MAX_VALUE rather than overflowing. */
    static long elements(int[] shape) {
        return product(Arrays.stream(shape).asLongStream().toArray());
    }

    private static long product(long[] dims) {
        long n = 1;
        for (long d : dims) {
            n = saturatingMultiply(n, d);
        }
        return n;
    }

    private static long saturatingMultiply(long a, long b) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        return hi != 0 || lo < 0 ? Long.MAX_VALUE : lo;
    }

    private static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }
}
