package io.kiln.engine.nn;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.tensor.Tensor;

/**
 * ReLU, sigmoid or tanh. Its backward needs only its own output, so where nothing else reads its input (see
 * {@link Sequential}) it overwrites the input with the output and keeps no tensor of its own: a VGG or ResNet
 * block's convolution, batch norm and ReLU then hold two activations instead of three.
 */
public final class ActivationLayer extends ScratchLayer {
    private final Activation function;
    private boolean inPlace;
    /** The last forward's input, which holds its output, when in place. */
    private Tensor overwritten;

    public ActivationLayer(Backend backend, String name, int[] inputShape, Activation function) {
        super(backend, name, inputShape);
        this.function = function;
    }

    /**
     * Whether forward writes its output over its input. Only for an input that no other layer reads and that
     * the layer which wrote it does not need for its own backward pass.
     */
    void setInPlace(boolean inPlace) {
        this.inPlace = inPlace;
    }

    boolean inPlace() {
        return inPlace;
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        Tensor y = inPlace ? x : output(x);
        overwritten = inPlace ? x : null;
        backend.activationForward(function, x, y);
        return y;
    }

    @Override
    protected void inputGradient(Tensor dy, Tensor dx) {
        backend.activationBackward(function, inPlace ? overwritten : lastOutput(), dy, dx);
    }
}
