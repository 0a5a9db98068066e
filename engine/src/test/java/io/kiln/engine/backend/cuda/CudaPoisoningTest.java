package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A fatal library error poisons the backend: every later operation fails with it (injected failures, no GPU needed). */
class CudaPoisoningTest {
    // no JCudnn or JCudaDriver: their classes would fail to load here, and stay failed for later tests in this JVM
    private final CudaChecks checks = new CudaChecks("cuda:0 (test)", status -> null, () -> 1L << 30);

    @Test
    void aLaterOperationFailsNamingTheFirstFatalErrorAsItsCause() {
        checks.notPoisoned("gemm");
        CudaException first = assertThrows(CudaException.class, () -> checks.blas(() -> 13, "cublasSgemm", "m=8"));
        assertTrue(first.fatal(), "CUBLAS_STATUS_EXECUTION_FAILED leaves the context unusable");
        assertNull(first.getCause());
        assertSame(first, checks.poisoned());

        CudaException later = assertThrows(CudaException.class, () -> checks.notPoisoned("conv2dForward"));
        assertSame(first, later.getCause(), "the first error is the cause");
        assertEquals("cublas", later.library());
        assertEquals(13, later.status());
        assertTrue(later.fatal());
        assertTrue(later.getMessage().startsWith("conv2dForward: the CUDA context of cuda:0 (test) is unusable after "
                + "an earlier error: " + first.getMessage()), later.getMessage());
    }
}
