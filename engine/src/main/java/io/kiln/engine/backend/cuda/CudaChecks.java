package io.kiln.engine.backend.cuda;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.function.IntFunction;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;
import jcuda.jcudnn.JCudnn;

/**
 * The status checks of one CUDA backend: every driver, cuBLAS and cuDNN status goes through here and a
 * failure becomes a {@link CudaException} naming the call, its details (shapes) and the device. A
 * {@link CudaException#fatal() fatal} one poisons the backend: the CUDA context is unusable after it, so
 * every later operation fails at once with that first error instead of running on a broken context.
 */
final class CudaChecks {
    /** Operations remembered for the message of an asynchronous error, which surfaces at a later call. */
    private static final int RECENT_OPS = 8;

    private final String device;
    private final ArrayDeque<String> recentOps = new ArrayDeque<>();
    private final IntFunction<String> cudnnText;
    private final LongSupplier freeMemory;
    private volatile CudaException poisoned;
    private Runnable freeCachedMemory = () -> { };

    /** @param device the device as messages name it, e.g. {@code cuda:0 (NVIDIA H100 80GB HBM3)} */
    CudaChecks(String device) {
        this(device, CudaChecks::cudnnErrorString, CudaChecks::freeDeviceMemory);
    }

    /**
     * @param cudnnText cuDNN's text of a status, or null
     * @param freeMemory the device's free memory for messages, -1 when unknown (both stand-ins in tests: loading
     *     JCudnn or JCudaDriver without their libraries fails the class for good in that JVM)
     */
    CudaChecks(String device, IntFunction<String> cudnnText, LongSupplier freeMemory) {
        this.device = device;
        this.cudnnText = cudnnText;
        this.freeMemory = freeMemory;
    }

    private static String cudnnErrorString(int status) {
        try {
            return JCudnn.cudnnGetErrorString(status);
        } catch (Throwable t) {
            return null;
        }
    }

    /**
     * What frees the memory Kiln's allocator keeps cached, for a cuBLAS or cuDNN call that failed to allocate:
     * those libraries allocate with cudaMalloc behind Kiln's back, and the cache may hold the free memory.
     */
    void freeCachedMemoryWith(Runnable emptyCache) {
        this.freeCachedMemory = emptyCache;
    }

    /** Runs a library call; on an allocation failure, frees the cached memory and runs it once more. */
    int retryingAllocation(String library, IntSupplier call) {
        int status = call.getAsInt();
        if (CudaStatus.allocationFailure(library, status)) {
            freeCachedMemory.run();
            status = call.getAsInt();
        }
        return status;
    }

    /** A cuBLAS call that may allocate: retried once after freeing the cache when it could not. */
    void blas(IntSupplier call, String name, Object detail) {
        blas(retryingAllocation("cublas", call), name, detail);
    }

    /** A cuDNN call that may allocate: retried once after freeing the cache when it could not. */
    void dnn(IntSupplier call, String name, Object detail) {
        dnn(retryingAllocation("cudnn", call), name, detail);
    }

    /** The fatal error that poisoned the backend, or null. */
    CudaException poisoned() {
        return poisoned;
    }

    /** At the start of an operation: fails, naming the first error, when the backend is poisoned. */
    void notPoisoned(String op) {
        CudaException p = poisoned;
        if (p != null) {
            throw new CudaException(op + ": the CUDA context of " + device + " is unusable after an earlier error: "
                    + p.getMessage(), p.library(), p.status(), true, p);
        }
    }

    /** Remembers an operation for the message of a later asynchronous error. */
    void started(String op) {
        if (recentOps.size() == RECENT_OPS) {
            recentOps.removeFirst();
        }
        recentOps.addLast(op);
    }

    private CudaException record(CudaException e) {
        if (e.fatal()) {
            poisoned = e;
        }
        return e;
    }

    private String where(String call, Object detail) {
        String d = detail == null ? "" : detail instanceof Object[] arr ? Arrays.deepToString(arr) : detail.toString();
        return call + (d.isEmpty() ? "" : " [" + d + "]") + " on " + device;
    }

    /** A CUDA driver status. */
    void cu(int status, String call, Object detail) {
        if (status != CUresult.CUDA_SUCCESS) {
            CudaException e = CudaErrors.driverException(status, where(call, detail));
            if (status == CUresult.CUDA_ERROR_ILLEGAL_ADDRESS || status == CUresult.CUDA_ERROR_LAUNCH_FAILED) {
                e = new CudaException(e.getMessage() + "; recent operations (errors of asynchronous work surface "
                        + "later; run with -Dkiln.cuda.sync=true to pin it down): " + recentOps, "cuda", status, true);
            }
            throw record(e);
        }
    }

    /** A cuBLAS status; an allocation failure (3) also says how much device memory is free. */
    void blas(int status, String call, Object detail) {
        if (status != 0) {
            boolean fatal = CudaStatus.fatalCublas(status);
            String extra = status == 3 ? "; device memory free: " + CudaStatus.bytes(freeMemory.getAsLong()) : "";
            throw record(new CudaException(where(call, detail) + " failed: " + CudaStatus.cublas(status) + extra, "cublas",
                    status, fatal));
        }
    }

    /** A cuDNN status, with cuDNN's own text when it gives one; an allocation failure says what is free. */
    void dnn(int status, String call, Object detail) {
        if (status != 0) {
            String text = cudnnText.apply(status);
            if (text == null || text.isBlank()) {
                text = CudaStatus.cudnn(status);
            }
            String extra = CudaStatus.allocationFailure("cudnn", status) || text.contains("ALLOC")
                    ? "; device memory free: " + CudaStatus.bytes(freeMemory.getAsLong()) : "";
            throw record(new CudaException(where(call, detail) + " failed: " + text + " (status " + status + ")" + extra,
                    "cudnn", status, CudaStatus.fatalCudnn(status)));
        }
    }

    /** Free memory of the current context's device in bytes, or -1 when the driver cannot say. */
    static long freeDeviceMemory() {
        long[] free = new long[1], total = new long[1];
        try {
            return JCudaDriver.cuMemGetInfo(free, total) == CUresult.CUDA_SUCCESS ? free[0] : -1;
        } catch (Throwable t) { // no driver: the message says "unknown"
            return -1;
        }
    }
}
