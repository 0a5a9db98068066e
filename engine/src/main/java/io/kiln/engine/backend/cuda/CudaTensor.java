package io.kiln.engine.backend.cuda;

import io.kiln.engine.tensor.Tensor;
import jcuda.driver.CUdeviceptr;

/**
 * A tensor in device memory of a {@link CudaBackend}: a block of its caching allocator holding at least
 * {@link #size()} floats, row-major. {@link #reshape} returns a view sharing the block; closing the tensor
 * that allocated it returns the block to the allocator (views are closed with it).
 */
public final class CudaTensor extends Tensor {
    /** The device memory shared by a tensor and its views. */
    static final class Storage {
        final CudaBackend owner;
        final DeviceAllocator.Block<CUdeviceptr> block;
        volatile boolean freed;

        Storage(CudaBackend owner, DeviceAllocator.Block<CUdeviceptr> block) {
            this.owner = owner;
            this.block = block;
        }
    }

    final Storage storage;
    private final boolean root;
    private volatile boolean closed;

    CudaTensor(Storage storage, int[] shape, boolean root) {
        super(shape);
        this.storage = storage;
        this.root = root;
    }

    CUdeviceptr pointer() {
        return storage.block.pointer;
    }

    @Override
    protected Object storage() {
        return storage;
    }

    /** Whether this tensor or the storage it views has been closed. */
    public boolean isClosed() {
        return closed || storage.freed;
    }

    @Override
    public CudaTensor reshape(int... newShape) {
        checkReshape(newShape);
        return new CudaTensor(storage, newShape, false);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (root && !storage.freed) {
            storage.freed = true;
            storage.owner.release(storage);
        }
    }
}
