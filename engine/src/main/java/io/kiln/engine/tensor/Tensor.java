package io.kiln.engine.tensor;

import java.util.Arrays;

/**
 * A dense float32 array with a shape, stored row-major (NCHW for images) by the backend that made it.
 *
 * <p>A tensor carries no operations of its own: every computation goes through a {@link
 * io.kiln.engine.backend.Backend}, so the same layer code runs on the CPU and on a GPU. Tensors made by one
 * backend may only be passed to that backend.
 */
public abstract class Tensor implements AutoCloseable {
    private final int[] shape;
    private final int size;

    protected Tensor(int[] shape) {
        this.shape = shape.clone();
        this.size = sizeOf(shape);
    }

    /** Number of elements of a shape; rejects negative dimensions and overflow. */
    public static int sizeOf(int... shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n *= d;
            if (n > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than 2^31-1 elements");
            }
        }
        return (int) n;
    }

    /** {@code [batch, sample...]}: the shape of {@code batch} items of shape {@code sample}. */
    public static int[] batchShape(int batch, int... sample) {
        int[] shape = new int[sample.length + 1];
        shape[0] = batch;
        System.arraycopy(sample, 0, shape, 1, sample.length);
        return shape;
    }

    public final int[] shape() {
        return shape.clone();
    }

    public final int rank() {
        return shape.length;
    }

    public final int dim(int axis) {
        return shape[axis];
    }

    /** Total number of elements. */
    public final int size() {
        return size;
    }

    /** Elements per item of the leading (batch) dimension. */
    public final int itemSize() {
        return shape.length == 0 || shape[0] == 0 ? 0 : size / shape[0];
    }

    /**
     * A tensor of another shape with the same number of elements that shares this one's storage. Closing a
     * view does not free the storage; closing the original does.
     */
    public abstract Tensor reshape(int... newShape);

    protected final void checkReshape(int[] newShape) {
        if (sizeOf(newShape) != size) {
            throw new IllegalArgumentException(
                    "cannot reshape " + Arrays.toString(shape) + " to " + Arrays.toString(newShape));
        }
    }

    /** Whether this tensor and {@code other} are the same storage: one of them a view of the other, or both of one. */
    public final boolean sharesStorage(Tensor other) {
        return other != null && other.storage() == storage();
    }

    /** What identifies the storage: the same object for a tensor and all its views. */
    protected abstract Object storage();

    /** Frees the storage (device memory for a GPU tensor). Idempotent. */
    @Override
    public abstract void close();

    @Override
    public String toString() {
        return getClass().getSimpleName() + Arrays.toString(shape);
    }
}
