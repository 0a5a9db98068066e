package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.Test;

/**
 * cuBLAS and cuDNN allocate with cudaMalloc while Kiln's cache may hold the free memory: their allocation
 * failures free the cache and run the call once more (injected failures, no GPU needed).
 */
class LibraryAllocationRetryTest {
    private final AtomicInteger cacheFreed = new AtomicInteger();
    // no JCudnn or JCudaDriver: their classes would fail to load here, and stay failed for later tests in this JVM
    private final CudaChecks checks = new CudaChecks("cuda:0 (test)", status -> null, () -> 1L << 30);

    LibraryAllocationRetryTest() {
        checks.freeCachedMemoryWith(cacheFreed::incrementAndGet);
    }

    /** A call that fails with {@code status} the first {@code failures} times, then succeeds. */
    private static IntSupplier failing(int status, int failures, AtomicInteger calls) {
        return () -> calls.incrementAndGet() <= failures ? status : 0;
    }

    @Test
    void anAllocationFailureFreesTheCacheAndSucceedsOnTheRetry() {
        for (int[] lib : new int[][] {{0, 3}, {1, 2}, {1, 4003}, {1, 4004}}) {
            AtomicInteger calls = new AtomicInteger();
            cacheFreed.set(0);
            if (lib[0] == 0) {
                checks.blas(failing(lib[1], 1, calls), "cublasSgemm", "");
            } else {
                checks.dnn(failing(lib[1], 1, calls), "cudnnConvolutionForward", "");
            }
            assertEquals(2, calls.get(), "status " + lib[1] + " is retried once");
            assertEquals(1, cacheFreed.get(), "status " + lib[1] + " frees the cache before the retry");
        }
    }

    @Test
    void aSecondAllocationFailureIsReportedWithoutAThirdTry() {
        AtomicInteger calls = new AtomicInteger();
        CudaException e = assertThrows(CudaException.class,
                () -> checks.blas(failing(3, 2, calls), "cublasSgemm", "m=4096"));
        assertEquals(2, calls.get());
        assertEquals(1, cacheFreed.get());
        assertEquals(3, e.status());
        assertTrue(e.getMessage().contains("CUBLAS_STATUS_ALLOC_FAILED") && e.getMessage().contains("device memory free: 1.0 GiB"),
                e.getMessage());
        assertFalse(e.fatal(), "running out of memory does not poison the context");
    }

    @Test
    void otherFailuresAreNotRetried() {
        AtomicInteger calls = new AtomicInteger();
        assertThrows(CudaException.class, () -> checks.blas(failing(7, 5, calls), "cublasSgemm", ""));
        AtomicInteger dnnCalls = new AtomicInteger();
        assertThrows(CudaException.class, () -> checks.dnn(failing(2000, 5, dnnCalls), "cudnnConvolutionForward", ""));
        assertEquals(1, calls.get());
        assertEquals(1, dnnCalls.get());
        assertEquals(0, cacheFreed.get());
    }

    @Test
    void allocationStatusesByLibrary() {
        assertTrue(CudaStatus.allocationFailure("cublas", 3));
        assertFalse(CudaStatus.allocationFailure("cudnn", 3), "cuDNN 8's 3 is BAD_PARAM");
        assertTrue(CudaStatus.allocationFailure("cudnn", 4004));
        assertFalse(CudaStatus.allocationFailure("cublas", 4004));
        assertFalse(CudaStatus.allocationFailure("cuda", 2), "driver OOM goes through Kiln's own allocator");
    }
}
