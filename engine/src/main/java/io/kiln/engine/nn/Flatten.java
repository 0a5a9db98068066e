package io.kiln.engine.nn;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.tensor.Tensor;

/** Reshapes each sample to a vector; shares storage, copies nothing. */
public final class Flatten extends Layer {
    public Flatten(Backend backend, String name, int[] inputShape) {
        super(backend, name);
        inShape = inputShape.clone();
        outShape = new int[] {Tensor.sizeOf(inputShape)};
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        return x.reshape(x.dim(0), outShape[0]);
    }

    @Override
    public Tensor backward(Tensor dy) {
        if (!needInputGrad) {
            return null;
        }
        return dy.reshape(Tensor.batchShape(dy.dim(0), inShape));
    }
}
