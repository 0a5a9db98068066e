package io.kiln.engine.nn;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.tensor.Tensor;

/** ReLU, sigmoid or tanh. */
public final class ActivationLayer extends Layer {
    private final Activation function;
    private Tensor y;
    private Tensor dx;

    public ActivationLayer(Backend backend, String name, int[] inputShape, Activation function) {
        super(backend, name);
        this.function = function;
        inShape = inputShape.clone();
        outShape = inputShape.clone();
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        y = ensure(y, x.dim(0), outShape);
        backend.activationForward(function, x, y);
        return y;
    }

    @Override
    public Tensor backward(Tensor dy) {
        if (!needInputGrad) {
            return null;
        }
        dx = ensure(dx, dy.dim(0), inShape);
        backend.activationBackward(function, y, dy, dx);
        return dx;
    }

    @Override
    protected void closeScratch() {
        closeAll(y, dx);
    }
}
