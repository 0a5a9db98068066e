package io.kiln.engine.nn;

import io.kiln.engine.tensor.Tensor;

/**
 * A trainable tensor with its gradient (overwritten by every backward pass) and the optimizer's state
 * tensors (allocated by the optimizer on first use). A frozen parameter keeps its value: the optimizer
 * skips it and its layer need not compute its gradient.
 */
public final class Param {
    private final String name;
    private final Tensor value;
    private final Tensor grad;
    private Tensor[] optimizerState = new Tensor[0];
    private boolean frozen;

    public Param(String name, Tensor value, Tensor grad) {
        this.name = name;
        this.value = value;
        this.grad = grad;
    }

    public String name() {
        return name;
    }

    public Tensor value() {
        return value;
    }

    public Tensor grad() {
        return grad;
    }

    public boolean frozen() {
        return frozen;
    }

    public void setFrozen(boolean frozen) {
        this.frozen = frozen;
    }

    public Tensor[] optimizerState() {
        return optimizerState;
    }

    public void setOptimizerState(Tensor[] state) {
        for (Tensor t : optimizerState) {
            t.close();
        }
        this.optimizerState = state;
    }

    public void close() {
        value.close();
        grad.close();
        setOptimizerState(new Tensor[0]);
    }
}
