package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Skips a test, with the reason, where no CUDA device can be used. */
final class CudaSupport {
    private CudaSupport() {
    }

    static void assumeGpu() {
        String reason = CudaDevices.unavailableReason();
        assumeTrue(reason == null, reason);
    }

    static boolean gpuPresent() {
        return CudaDevices.unavailableReason() == null;
    }
}
