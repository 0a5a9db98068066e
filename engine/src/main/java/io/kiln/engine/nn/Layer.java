package io.kiln.engine.nn;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * A layer with an explicit backward pass. Shapes given to and returned by {@link #outputShape} are per
 * sample (no batch dimension); tensors passed to forward and backward carry the batch first.
 *
 * <p>A layer keeps its output tensor between steps and reuses it while the batch size stays the same; the
 * tensor returned by forward belongs to the layer and stays valid until its next call. The tensor returned by
 * backward is lent from {@link #gradients()}, shared by all layers of a model: the caller gives it back once
 * it has used it (see {@link GradientBuffers}). After the first step a training step allocates nothing.
 */
public abstract class Layer implements AutoCloseable {
    protected final Backend backend;
    protected final String name;
    protected int[] inShape;
    protected int[] outShape;
    /** False for the first layer of a model: nothing needs the gradient of the data. */
    protected boolean needInputGrad = true;
    /** Where backward's results come from: the layer's own until a model shares one among its layers. */
    private GradientBuffers gradients;
    private boolean ownGradients = true;

    protected Layer(Backend backend, String name) {
        this.backend = backend;
        this.name = name;
        this.gradients = new GradientBuffers(backend);
    }

    /** The buffers that backward's results are taken from and given back to. */
    public final GradientBuffers gradients() {
        return gradients;
    }

    /**
     * Makes this layer (and a container's layers) take backward's results from {@code shared}, which the
     * caller owns and closes; a model calls this once, before the first step.
     */
    public void useGradients(GradientBuffers shared) {
        if (ownGradients) {
            gradients.close();
        }
        gradients = shared;
        ownGradients = false;
    }

    /** The input gradient for {@code dy}'s batch, lent from {@link #gradients()}. */
    protected final Tensor takeInputGradient(Tensor dy) {
        return gradients.take(dy.dim(0), inShape);
    }

    /** A layer whose per-sample output has the shape of its input, {@code shape}. */
    protected Layer(Backend backend, String name, int[] shape) {
        this(backend, name);
        this.inShape = shape.clone();
        this.outShape = shape.clone();
    }

    public String name() {
        return name;
    }

    public int[] inputShape() {
        return inShape.clone();
    }

    public int[] outputShape() {
        return outShape.clone();
    }

    public void setNeedInputGrad(boolean need) {
        this.needInputGrad = need;
    }

    /** Computes the output for a batch; {@code training} selects dropout and batch statistics. */
    public abstract Tensor forward(Tensor x, boolean training);

    /**
     * Given the gradient of the loss with respect to the last forward's output, sets the parameters'
     * gradients and returns the gradient with respect to the input (null when {@link #needInputGrad} is false):
     * {@code dy} itself or a view of it, or a tensor lent from {@link #gradients()} for the caller to give back.
     * {@code dy} stays the caller's.
     */
    public abstract Tensor backward(Tensor dy);

    public List<Param> params() {
        return List.of();
    }

    /** Non-trainable state saved in checkpoints (batch-norm running statistics). */
    public List<NamedTensor> buffers() {
        return List.of();
    }

    /** Freezes or unfreezes the layer's parameters (and, for batch norm, its running statistics). */
    public void setFrozen(boolean frozen) {
        for (Param p : params()) {
            p.setFrozen(frozen);
        }
    }

    public boolean frozen() {
        List<Param> ps = params();
        return !ps.isEmpty() && ps.stream().allMatch(Param::frozen);
    }

    public long parameterCount() {
        return params().stream().mapToLong(p -> p.value().size()).sum();
    }

    @Override
    public void close() {
        for (Param p : params()) {
            p.close();
        }
        for (NamedTensor b : buffers()) {
            b.tensor().close();
        }
        closeScratch();
        closeOwnGradients();
    }

    /** Frees the gradient buffers unless they are shared (then their owner frees them). */
    protected final void closeOwnGradients() {
        if (ownGradients) {
            gradients.close();
        }
    }

    /** Frees the tensors kept between steps. */
    protected void closeScratch() {
    }

    /** A tensor of {@code [batch, shape...]}, reusing {@code current} when it already has that shape. */
    protected final Tensor ensure(Tensor current, int batch, int[] shape) {
        int[] full = Tensor.batchShape(batch, shape);
        if (current != null && Arrays.equals(current.shape(), full)) {
            return current;
        }
        if (current != null) {
            current.close();
        }
        return backend.allocate(full);
    }

    protected static void closeAll(Tensor... ts) {
        for (Tensor t : ts) {
            if (t != null) {
                t.close();
            }
        }
    }

    /** A tensor with a name, as stored in checkpoints. */
    public record NamedTensor(String name, Tensor tensor) {
    }
}
