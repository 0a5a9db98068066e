package io.kiln.engine.backend.cuda;

import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Names and meanings of CUDA driver, cuBLAS and cuDNN status codes (pure Java: no native call). */
final class CudaStatus {
    private CudaStatus() {
    }

    /** Driver errors after which the context is unusable (CUDA documents them as sticky). */
    private static final Set<Integer> FATAL_DRIVER = Set.of(
            214, // ECC_UNCORRECTABLE
            700, // ILLEGAL_ADDRESS
            702, // LAUNCH_TIMEOUT
            709, // CONTEXT_IS_DESTROYED
            710, // ASSERT
            714, // HARDWARE_STACK_ERROR
            715, // ILLEGAL_INSTRUCTION
            716, // MISALIGNED_ADDRESS
            717, // INVALID_ADDRESS_SPACE
            718, // INVALID_PC
            719, // LAUNCH_FAILED
            999); // UNKNOWN
    // Not here: 701 LAUNCH_OUT_OF_RESOURCES and 720 COOPERATIVE_LAUNCH_TOO_LARGE are launch-configuration
    // errors, returned by the launch itself; the kernel never ran and the context stays usable.

    static boolean fatalDriver(int status) {
        return FATAL_DRIVER.contains(status);
    }

    /**
     * Allocation failures inside cuBLAS (ALLOC_FAILED, 3) or cuDNN (cuDNN 8's ALLOC_FAILED, 2; cuDNN 9's
     * INTERNAL_ERROR_HOST_ALLOCATION_FAILED, 4003, and INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED, 4004): the
     * library's own cudaMalloc found no memory, perhaps because Kiln's cache holds it.
     */
    static boolean allocationFailure(String library, int status) {
        return switch (library) {
            case "cublas" -> status == 3;
            case "cudnn" -> status == 2 || status == 4003 || status == 4004;
            default -> false;
        };
    }

    /** cuBLAS EXECUTION_FAILED / cuDNN EXECUTION_FAILED: a kernel failed on the GPU; treat as poisoned. */
    static boolean fatalCublas(int status) {
        return status == 13;
    }

    /** cuDNN 8's EXECUTION_FAILED is 8; cuDNN 9 numbers its codes by class, EXECUTION_FAILED* being 5000-5999. */
    static boolean fatalCudnn(int status) {
        return status == 8 || (status >= 5000 && status < 6000);
    }

    private static final Map<Integer, String> CUBLAS = Map.of(
            0, "CUBLAS_STATUS_SUCCESS",
            1, "CUBLAS_STATUS_NOT_INITIALIZED (the cuBLAS library was not initialized)",
            3, "CUBLAS_STATUS_ALLOC_FAILED (resource allocation failed inside cuBLAS)",
            7, "CUBLAS_STATUS_INVALID_VALUE (an unsupported value or parameter was passed)",
            8, "CUBLAS_STATUS_ARCH_MISMATCH (the GPU lacks a feature this call needs)",
            11, "CUBLAS_STATUS_MAPPING_ERROR (access to GPU memory space failed)",
            13, "CUBLAS_STATUS_EXECUTION_FAILED (the GPU program failed to execute)",
            14, "CUBLAS_STATUS_INTERNAL_ERROR (an internal cuBLAS operation failed)",
            15, "CUBLAS_STATUS_NOT_SUPPORTED (the functionality requested is not supported)",
            16, "CUBLAS_STATUS_LICENSE_ERROR");

    static String cublas(int status) {
        return CUBLAS.getOrDefault(status, "cuBLAS status " + status);
    }

    private static final Map<Integer, String> CUDNN = Map.ofEntries(
            Map.entry(0, "CUDNN_STATUS_SUCCESS"),
            Map.entry(1, "CUDNN_STATUS_NOT_INITIALIZED"),
            Map.entry(2, "CUDNN_STATUS_ALLOC_FAILED"),
            Map.entry(3, "CUDNN_STATUS_BAD_PARAM"),
            Map.entry(4, "CUDNN_STATUS_INTERNAL_ERROR"),
            Map.entry(5, "CUDNN_STATUS_INVALID_VALUE"),
            Map.entry(6, "CUDNN_STATUS_ARCH_MISMATCH"),
            Map.entry(7, "CUDNN_STATUS_MAPPING_ERROR"),
            Map.entry(8, "CUDNN_STATUS_EXECUTION_FAILED"),
            Map.entry(9, "CUDNN_STATUS_NOT_SUPPORTED"),
            Map.entry(10, "CUDNN_STATUS_LICENSE_ERROR"),
            Map.entry(11, "CUDNN_STATUS_RUNTIME_PREREQUISITE_MISSING"),
            Map.entry(12, "CUDNN_STATUS_RUNTIME_IN_PROGRESS"),
            Map.entry(13, "CUDNN_STATUS_RUNTIME_FP_OVERFLOW"),
            Map.entry(14, "CUDNN_STATUS_VERSION_MISMATCH"));

    /** cuDNN 8 codes by name; cuDNN 9 uses 1000-and-up codes, named by cudnnGetErrorString at run time. */
    static String cudnn(int status) {
        return CUDNN.getOrDefault(status, "cuDNN status " + status);
    }

    static String bytes(long n) {
        if (n < 0) {
            return "unknown";
        }
        if (n < 1024) {
            return n + " B";
        }
        double v = n;
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
