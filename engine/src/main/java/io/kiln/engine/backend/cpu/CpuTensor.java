package io.kiln.engine.backend.cpu;

import io.kiln.engine.tensor.Tensor;

/**
 * A tensor of the {@link CpuBackend}: a plain {@code float[]} holding exactly {@link #size()} elements,
 * row-major. {@link #reshape} returns a view that shares the array. {@link #close} frees nothing (the
 * garbage collector does that); it only marks the tensor closed, and the backend rejects closed tensors
 * (a view is closed when it, or the tensor it was made from, has been closed).
 */
public final class CpuTensor extends Tensor {
    private final float[] data;
    /** The tensor whose storage this one shares, or this one itself. */
    private final CpuTensor root;
    private volatile boolean closed;

    /** A new zero-filled tensor. */
    public CpuTensor(int... shape) {
        super(shape);
        this.data = new float[size()];
        this.root = this;
    }

    /**
     * A tensor over an existing array (not copied), which must hold exactly as many elements as the
     * shape.
     */
    public CpuTensor(float[] data, int... shape) {
        super(shape);
        if (data.length != size()) {
            throw new IllegalArgumentException("array of " + data.length + " floats does not match shape "
                    + java.util.Arrays.toString(shape) + " (" + size() + " elements)");
        }
        this.data = data;
        this.root = this;
    }

    private CpuTensor(CpuTensor root, int[] shape) {
        super(shape);
        this.data = root.data;
        this.root = root;
    }

    /** The storage, shared with every view of this tensor; its length is {@link #size()}. */
    public float[] data() {
        return data;
    }

    @Override
    public CpuTensor reshape(int... newShape) {
        checkReshape(newShape);
        return new CpuTensor(root, newShape);
    }

    @Override
    protected Object storage() {
        return data;
    }

    /** Whether this tensor, or the tensor whose storage it views, has been closed. */
    public boolean isClosed() {
        return closed || root.closed;
    }

    @Override
    public void close() {
        closed = true;
    }
}
