package io.kiln.engine.nn;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.tensor.Tensor;

/**
 * A layer whose forward writes one output tensor, kept between steps, and whose backward writes one input
 * gradient, lent from the model's {@link GradientBuffers}. This class owns the output and the order of a
 * backward pass (parameters' gradients first, then the input's, skipped when nothing needs it), so a subclass
 * says only how to compute them.
 */
public abstract class ScratchLayer extends Layer {
    private Tensor y;

    protected ScratchLayer(Backend backend, String name) {
        super(backend, name);
    }

    /** A layer whose per-sample output has the shape of its input, {@code shape}. */
    protected ScratchLayer(Backend backend, String name, int[] shape) {
        super(backend, name, shape);
    }

    /** The output tensor for {@code x}'s batch, reused while the batch size stays the same. */
    protected final Tensor output(Tensor x) {
        y = ensure(y, x.dim(0), outShape);
        return y;
    }

    /** What the last forward returned. */
    protected final Tensor lastOutput() {
        return y;
    }

    @Override
    public final Tensor backward(Tensor dy) {
        parameterGradients(dy);
        if (!needInputGrad) {
            return null;
        }
        Tensor dx = takeInputGradient(dy);
        inputGradient(dy, dx);
        return dx;
    }

    /** Sets the gradients of this layer's parameters from {@code dy}; nothing for a layer without any. */
    protected void parameterGradients(Tensor dy) {
    }

    /** Writes the gradient with respect to the last forward's input into {@code dx}. */
    protected abstract void inputGradient(Tensor dy, Tensor dx);

    @Override
    protected void closeScratch() {
        closeAll(y);
    }
}
