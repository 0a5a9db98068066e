package io.kiln.engine.nn;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.tensor.Tensor;

/** ReLU, sigmoid or tanh. */
public final class ActivationLayer extends ScratchLayer {
    private final Activation function;

    public ActivationLayer(Backend backend, String name, int[] inputShape, Activation function) {
        super(backend, name, inputShape);
        this.function = function;
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        Tensor y = output(x);
        backend.activationForward(function, x, y);
        return y;
    }

    @Override
    protected void inputGradient(Tensor dy, Tensor dx) {
        backend.activationBackward(function, lastOutput(), dy, dx);
    }
}
