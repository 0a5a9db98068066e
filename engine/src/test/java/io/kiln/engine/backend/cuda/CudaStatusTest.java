package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.Precision;
import org.junit.jupiter.api.Test;

class CudaStatusTest {
    @Test
    void contextPoisoningErrorsAreFatal() {
        assertTrue(CudaStatus.fatalDriver(700)); // ILLEGAL_ADDRESS
        assertTrue(CudaStatus.fatalDriver(719)); // LAUNCH_FAILED
        assertFalse(CudaStatus.fatalDriver(720)); // COOPERATIVE_LAUNCH_TOO_LARGE: a launch-configuration error
        assertFalse(CudaStatus.fatalDriver(701)); // LAUNCH_OUT_OF_RESOURCES: likewise
        assertFalse(CudaStatus.fatalDriver(2)); // OUT_OF_MEMORY
        assertFalse(CudaStatus.fatalDriver(1)); // INVALID_VALUE
        assertTrue(CudaStatus.fatalCublas(13));
        assertFalse(CudaStatus.fatalCublas(7));
        assertTrue(CudaStatus.fatalCudnn(8)); // cuDNN 8 EXECUTION_FAILED
        assertTrue(CudaStatus.fatalCudnn(5001)); // cuDNN 9 EXECUTION_FAILED_CUDA_KERNEL
        assertFalse(CudaStatus.fatalCudnn(2000)); // cuDNN 9 BAD_PARAM
    }

    @Test
    void namesAndSizes() {
        assertTrue(CudaStatus.cublas(13).startsWith("CUBLAS_STATUS_EXECUTION_FAILED"));
        assertEquals("CUDNN_STATUS_BAD_PARAM", CudaStatus.cudnn(3));
        assertEquals("512 B", CudaStatus.bytes(512));
        assertEquals("1.5 MiB", CudaStatus.bytes(3L << 19));
        assertEquals("unknown", CudaStatus.bytes(-1));
    }

    @Test
    void precisionParses() {
        assertEquals(Precision.TF32, Precision.parse("tf32"));
        assertEquals(Precision.FP32, Precision.parse(null));
        assertEquals("fp32", Precision.FP32.label());
    }
}
