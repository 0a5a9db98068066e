package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** A GPU below compute capability 7.5 with CUDA 13's cuBLAS is refused when the backend is created. */
class CapabilityGuardTest {
    private static CudaDevices.Gpu gpu(String name, int major, int minor) {
        return new CudaDevices.Gpu(0, name, 4L << 30, -1, major, minor, 6);
    }

    private static List<NativeLibraries.Loaded> libs(String cublas, boolean shim) {
        return List.of(new NativeLibraries.Loaded("cuBLAS", cublas, shim),
                new NativeLibraries.Loaded("cuDNN", "/usr/lib/x86_64-linux-gnu/libcudnn.so.9", true));
    }

    @Test
    void pascalWithCuda13CublasIsRefusedNamingGpuCapabilityAndLibraries() {
        String r = CapabilityGuard.refusal(0, gpu("NVIDIA GeForce GTX 1050 Ti", 6, 1),
                libs("/usr/local/cuda-13.0/lib64/libcublas.so.13", true));
        assertTrue(r != null && r.contains("GTX 1050 Ti") && r.contains("6.1") && r.contains("libcublas.so.13")
                && r.contains("libcudnn.so.9") && r.contains("7.5"), String.valueOf(r));
        assertTrue(CapabilityGuard.refusal(0, gpu("Tesla V100", 7, 0), libs("/x/libcublas.so.13", true)) != null,
                "Volta (7.0) too");
    }

    @Test
    void olderLibrariesOrNewerGpusAreAccepted() {
        assertNull(CapabilityGuard.refusal(0, gpu("GTX 1050 Ti", 6, 1), libs("/usr/local/cuda-12.4/lib64/libcublas.so.12", true)));
        assertNull(CapabilityGuard.refusal(0, gpu("GTX 1050 Ti", 6, 1), libs("/usr/local/cuda-11.8/lib64/libcublas.so.11", false)));
        assertNull(CapabilityGuard.refusal(0, gpu("Tesla T4", 7, 5), libs("/x/libcublas.so.13", true)));
        assertNull(CapabilityGuard.refusal(0, gpu("NVIDIA H200", 9, 0), libs("/x/libcublas.so.13", true)));
    }
}
