package io.kiln.engine.nn;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.LayerSpec;
import io.kiln.engine.spec.Presets;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A network built from a list of layer specs: the root sequence, its parameters and buffers by name. Shape
 * errors are reported as {@link SpecException}s naming the layer ({@code model.layers[3]}).
 */
public final class Model implements AutoCloseable {
    private final Sequential root;
    /** Every layer's input gradient is lent from these: see {@link GradientBuffers}. */
    private final GradientBuffers gradients;
    private final List<LayerSpec> specs;
    /** The preset the layers were expanded from, or null for a spec's own layer list. */
    private final String preset;
    private final List<Dropout> dropouts = new ArrayList<>();

    /**
     * The network a job spec describes for samples of {@code sampleShape} ([C, H, W]) and {@code classes}
     * classes: its layers, or its preset expanded for that shape, initialised from the training seed.
     */
    public static Model build(Backend backend, JobSpec spec, int[] sampleShape, int classes) {
        // Every shape rule first, before any weight is allocated: a tensor too large for an array is refused
        // naming its layer rather than failing inside an allocation.
        ModelPlan.of(spec, sampleShape, classes);
        int[] declared = spec.model().input();
        if (declared != null && !Arrays.equals(declared, sampleShape)
                && !(declared.length == 1 && declared[0] == Tensor.sizeOf(sampleShape))) {
            throw new SpecException("model.input", "is " + Arrays.toString(declared) + " but the samples of "
                    + spec.data().name() + " are " + Arrays.toString(sampleShape) + " (channels, height, width)");
        }
        List<LayerSpec> layers = spec.model().layers() != null ? spec.model().layers()
                : Presets.expand(spec.model().preset(), spec.model().presetOptions(), sampleShape, classes);
        return new Model(backend, layers, spec.model().preset(), sampleShape, spec.training().seed());
    }

    public Model(Backend backend, List<LayerSpec> specs, int[] inputShape, long seed) {
        this(backend, specs, null, inputShape, seed);
    }

    private Model(Backend backend, List<LayerSpec> specs, String preset, int[] inputShape, long seed) {
        this.specs = List.copyOf(specs);
        this.preset = preset;
        SplittableRandom rng = new SplittableRandom(seed);
        root = sequence(backend, specs, inputShape, rng, "layers", "model.layers", seed);
        root.setNeedInputGrad(false);
        root.prepareBackward();
        gradients = new GradientBuffers(backend);
        root.useGradients(gradients);
    }

    private Sequential sequence(Backend backend, List<LayerSpec> specs, int[] inputShape, SplittableRandom rng,
                                String prefix, String field, long seed) {
        List<Layer> layers = new ArrayList<>();
        int[] shape = inputShape;
        for (int i = 0; i < specs.size(); i++) {
            Layer l = layer(backend, specs.get(i), shape, rng, prefix + "." + i, field + "[" + i + "]", seed);
            layers.add(l);
            shape = l.outputShape();
        }
        return new Sequential(backend, prefix, inputShape, layers);
    }

    private Layer layer(Backend backend, LayerSpec spec, int[] in, SplittableRandom rng, String name, String field, long seed) {
        return switch (spec) {
            case LayerSpec.Dense d -> new Dense(backend, name, in, d, rng);
            case LayerSpec.Conv2d c -> new Conv2d(backend, name, in, c, rng, field);
            case LayerSpec.Pool2d p -> new Pool2d(backend, name, in, p, field);
            case LayerSpec.Act a -> new ActivationLayer(backend, name, in, a.function());
            case LayerSpec.Dropout d -> {
                Dropout layer = new Dropout(backend, name, in, d.rate(), seed ^ (name.hashCode() * 0x9E3779B97F4A7C15L));
                dropouts.add(layer);
                yield layer;
            }
            case LayerSpec.BatchNorm b -> {
                if (in.length != 1 && in.length != 3) {
                    throw new SpecException(field, "batchnorm needs [C] or [C, H, W] inputs, got " + Arrays.toString(in));
                }
                yield new BatchNorm(backend, name, in, b.momentum(), b.eps());
            }
            case LayerSpec.Flatten f -> new Flatten(backend, name, in);
            case LayerSpec.Residual r -> {
                Sequential body = sequence(backend, r.body(), in, rng, name + ".body", field + ".layers", seed);
                Sequential shortcut = sequence(backend, r.shortcut(), in, rng, name + ".shortcut", field + ".shortcut", seed);
                if (!Arrays.equals(body.outputShape(), shortcut.outputShape())) {
                    throw new SpecException(field, "the residual body gives " + Arrays.toString(body.outputShape())
                            + " but the shortcut gives " + Arrays.toString(shortcut.outputShape())
                            + (r.shortcut().isEmpty() ? " (the identity); add a shortcut, e.g. a strided 1x1 conv2d" : ""));
                }
                yield new Residual(backend, name, in, body, shortcut);
            }
        };
    }

    public Tensor forward(Tensor x, boolean training) {
        return root.forward(x, training);
    }

    public void backward(Tensor dOutput) {
        gradients.giveBackUnlessShared(root.backward(dOutput), dOutput);
    }

    /** The gradient buffers the layers share (for tests: after a backward step none is lent). */
    GradientBuffers gradients() {
        return gradients;
    }

    public int[] outputShape() {
        return root.outputShape();
    }

    public int[] inputShape() {
        return root.inputShape();
    }

    public Sequential root() {
        return root;
    }

    /** The layer specs the model was built from, one per layer of {@link #root()}. */
    public List<LayerSpec> specs() {
        return specs;
    }

    /** The preset the model was expanded from ({@code resnet18}, ...), or null when the spec listed its layers. */
    public String preset() {
        return preset;
    }

    public List<Param> params() {
        return root.params();
    }

    public List<Layer.NamedTensor> buffers() {
        return root.buffers();
    }

    public List<Dropout> dropouts() {
        return dropouts;
    }

    public long parameterCount() {
        return root.parameterCount();
    }

    /** Call after freezing or unfreezing layers, so backward skips what nothing needs. */
    public void refreshBackward() {
        root.prepareBackward();
    }

    @Override
    public void close() {
        root.close();
        gradients.close();
    }
}
