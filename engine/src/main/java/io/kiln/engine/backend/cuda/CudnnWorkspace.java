package io.kiln.engine.backend.cuda;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/**
 * Device memory that cuDNN's convolutions work in, outside the caching allocator: one workspace shared by
 * every convolution, grown to the largest that a chosen algorithm needs, and a temporary one, as large as
 * can be had, for the algorithm search (a larger search workspace lets cudnnFind*Ex time faster algorithms).
 */
final class CudnnWorkspace {
    /** Ceiling of the search workspace (besides a third of free memory): algorithms needing more are not tried. */
    private static final long SEARCH_LIMIT = 1L << 30;

    private final CudaContext context;
    private final CudaChecks checks;
    private final DeviceAllocator<CUdeviceptr> allocator;
    private final String device;
    private CUdeviceptr shared;
    private long sharedBytes;

    CudnnWorkspace(CudaContext context, CudaChecks checks, DeviceAllocator<CUdeviceptr> allocator, String device) {
        this.context = context;
        this.checks = checks;
        this.allocator = allocator;
        this.device = device;
    }

    /**
     * A temporary workspace for cudnnFind*Ex: as large as possible up to 1 GiB and a third of free memory,
     * halving until an allocation succeeds; {@code size[0]} gets its size (0 and a null pointer when not even
     * 1 MiB could be had: the search then only tries algorithms that need none).
     */
    CUdeviceptr forSearch(long[] size) {
        long limit = Math.min(SEARCH_LIMIT, Math.max(0, CudaChecks.freeDeviceMemory() / 3));
        while (limit >= (1L << 20)) {
            CUdeviceptr p = new CUdeviceptr();
            if (JCudaDriver.cuMemAlloc(p, limit) == CUresult.CUDA_SUCCESS) {
                size[0] = limit;
                return p;
            }
            limit /= 2;
        }
        size[0] = 0;
        return new CUdeviceptr();
    }

    /** Frees a search workspace once the search that used it has finished. */
    void freeSearch(CUdeviceptr p, long size) {
        if (size > 0) {
            checks.cu(JCudaDriver.cuStreamSynchronize(context.stream()), "cuStreamSynchronize", "after algorithm search");
            JCudaDriver.cuMemFree(p);
        }
    }

    /**
     * The shared workspace, grown to at least {@code bytes}. When the device is out of memory the allocator's
     * cache is emptied and the allocation tried again before failing with both figures.
     */
    CUdeviceptr atLeast(long bytes) {
        if (bytes > sharedBytes) {
            if (shared != null) {
                checks.cu(JCudaDriver.cuStreamSynchronize(context.stream()), "cuStreamSynchronize",
                        "growing the cuDNN workspace");
                JCudaDriver.cuMemFree(shared);
                shared = null;
                sharedBytes = 0;
            }
            CUdeviceptr p = new CUdeviceptr();
            int s = JCudaDriver.cuMemAlloc(p, bytes);
            if (s == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
                allocator.emptyCache();
                s = JCudaDriver.cuMemAlloc(p, bytes);
            }
            if (s == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
                long free = CudaChecks.freeDeviceMemory();
                throw new CudaOutOfMemoryException("CUDA out of memory allocating the cuDNN workspace of "
                        + CudaStatus.bytes(bytes) + ": " + CudaStatus.bytes(free) + " free on " + device, bytes, free);
            }
            checks.cu(s, "cuMemAlloc", "cuDNN workspace " + CudaStatus.bytes(bytes));
            shared = p;
            sharedBytes = bytes;
        }
        return shared == null ? new CUdeviceptr() : shared;
    }

    /** Frees the shared workspace (for close). */
    void free() {
        if (shared != null) {
            JCudaDriver.cuMemFree(shared);
            shared = null;
        }
    }
}
