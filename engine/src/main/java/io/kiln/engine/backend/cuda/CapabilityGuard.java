package io.kiln.engine.backend.cuda;

import java.nio.file.Path;
import java.util.List;

/**
 * Refuses a GPU that the loaded libraries have no kernels for, when the backend is created rather than at the
 * first matrix product deep in training. CUDA 13 dropped Maxwell, Pascal and Volta: its cuBLAS
 * ({@code libcublas.so.13}) runs on compute capability 7.5 (Turing) and newer only, and Kiln's shims forward
 * to it when it is the newest cuBLAS installed. (Kiln's own kernels are retargeted for 6.1 and up, see
 * {@link PtxPatcher}; with the CUDA 11 or 12 libraries such a GPU works.)
 */
final class CapabilityGuard {
    /** The oldest compute capability, times ten, that CUDA 13's libraries have kernels for. */
    static final int CUDA13_MINIMUM = 75;

    private CapabilityGuard() {
    }

    /** Why this GPU cannot run with these libraries, or null when it can. */
    static String refusal(int ordinal, CudaDevices.Gpu gpu, List<NativeLibraries.Loaded> libraries) {
        int cc = gpu.major() * 10 + gpu.minor();
        if (cc >= CUDA13_MINIMUM) {
            return null;
        }
        for (NativeLibraries.Loaded l : libraries) {
            String file = Path.of(l.library()).getFileName().toString();
            if (file.startsWith("libcublas.so.13")) {
                return "cuda:" + ordinal + " (" + gpu.name() + ") has compute capability " + gpu.computeCapability()
                        + ", but the cuBLAS found is CUDA 13's (" + l.library() + (l.shim() ? ", through Kiln's shim" : "")
                        + "), which has no kernels for GPUs below 7.5; libraries: " + libraries
                        + ". Install the CUDA 12 or 11 cuBLAS and cuDNN (and name their folder in KILN_CUDA_LIBS) to use"
                        + " this GPU";
            }
        }
        return null;
    }
}
