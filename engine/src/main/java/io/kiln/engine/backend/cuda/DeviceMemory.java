package io.kiln.engine.backend.cuda;

import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/** The caching allocator's raw device memory: cuMemAlloc and cuMemFree in a backend's context. */
record DeviceMemory(CudaContext context, CudaChecks checks) implements DeviceAllocator.Raw<CUdeviceptr> {
    /** Null when the device is out of memory (the allocator then empties its cache and tries again). */
    @Override
    public CUdeviceptr malloc(long bytes) {
        CUdeviceptr p = new CUdeviceptr();
        int s = JCudaDriver.cuMemAlloc(p, bytes);
        if (s == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
            return null;
        }
        checks.cu(s, "cuMemAlloc", CudaStatus.bytes(bytes));
        return p;
    }

    @Override
    public void free(CUdeviceptr p) {
        JCudaDriver.cuMemFree(p);
    }

    @Override
    public long freeBytes() {
        return CudaChecks.freeDeviceMemory();
    }

    @Override
    public void beforeFree() {
        JCudaDriver.cuStreamSynchronize(context.stream()); // errors surface at the next checked call
    }
}
