package io.kiln.engine.nn;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.spec.LayerSpec;
import io.kiln.engine.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A layer with a weight and an optional per-output bias (dense, conv2d): the parameters, their initialisation,
 * the bias's forward and backward, and leaving a frozen parameter's gradient alone.
 */
public abstract class WeightedLayer extends ScratchLayer {
    private Param weight;
    private Param bias;

    protected WeightedLayer(Backend backend, String name) {
        super(backend, name);
    }

    /**
     * Creates the weight of {@code weightShape}, initialised by {@code init} from the fans, and a zero bias of
     * {@code biasSize} values unless it is 0. Called once, from the subclass's constructor.
     */
    protected final void createParams(int[] weightShape, LayerSpec.Init init, int fanIn, int fanOut,
                                      SplittableRandom rng, int biasSize) {
        weight = new Param(name + ".weight",
                backend.fromHost(Init.weights(init, Tensor.sizeOf(weightShape), fanIn, fanOut, rng), weightShape),
                backend.allocate(weightShape));
        bias = biasSize > 0 ? new Param(name + ".bias", backend.allocate(biasSize), backend.allocate(biasSize)) : null;
    }

    protected final Tensor weight() {
        return weight.value();
    }

    /** Adds the bias, if there is one, to each sample's outputs. */
    protected final void addBias(Tensor y) {
        if (bias != null) {
            backend.addBias(y, bias.value());
        }
    }

    @Override
    protected final void parameterGradients(Tensor dy) {
        if (!weight.frozen()) {
            weightGradient(dy, weight.grad());
        }
        if (bias != null && !bias.frozen()) {
            backend.biasBackward(dy, bias.grad());
        }
    }

    /** Writes the gradient with respect to the weight, for the last forward's input, into {@code dw}. */
    protected abstract void weightGradient(Tensor dy, Tensor dw);

    @Override
    public List<Param> params() {
        return bias == null ? List.of(weight) : List.of(weight, bias);
    }
}
