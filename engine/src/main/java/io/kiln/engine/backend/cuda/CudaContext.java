package io.kiln.engine.backend.cuda;

import io.kiln.cuda.CudaResources;
import io.kiln.engine.backend.Precision;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.ToIntFunction;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasMath;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnHandle;
import jcuda.runtime.cudaStream_t;

/**
 * What a CUDA backend runs in: the device's primary context (retained, so that other users of the device
 * share it), bound to whichever thread calls; the one non-blocking stream all work is queued on; Kiln's
 * kernel module; and the cuBLAS and cuDNN handles on that stream.
 */
final class CudaContext {
    private final int ordinal;
    private final CudaDevices.Gpu gpu;
    private final CudaChecks checks;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private CUstream stream;
    private CUmodule module;
    private cublasHandle cublas;
    private cudnnHandle cudnn;
    private final ToIntFunction<CUcontext> makeCurrent;
    private boolean retained;

    CudaContext(int ordinal, CudaDevices.Gpu gpu, CudaChecks checks) {
        this(ordinal, gpu, checks, JCudaDriver::cuCtxSetCurrent);
    }

    /** @param makeCurrent cuCtxSetCurrent (a stand-in in tests) */
    CudaContext(int ordinal, CudaDevices.Gpu gpu, CudaChecks checks, ToIntFunction<CUcontext> makeCurrent) {
        this.ordinal = ordinal;
        this.gpu = gpu;
        this.checks = checks;
        this.makeCurrent = makeCurrent;
    }

    /** Retains the primary context, makes it current on this thread and creates the stream. */
    void open() {
        checks.cu(JCudaDriver.cuDeviceGet(device, ordinal), "cuDeviceGet", "cuda:" + ordinal);
        checks.cu(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain", "cuda:" + ordinal);
        retained = true;
        checks.cu(makeCurrent.applyAsInt(context), "cuCtxSetCurrent", "cuda:" + ordinal);
        stream = new CUstream();
        checks.cu(JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate", "");
    }

    /** The cuBLAS and cuDNN handles on the stream, cuBLAS in the math mode of the precision. */
    void createLibraries(Precision precision) {
        cublas = new cublasHandle();
        checks.blas(() -> JCublas2.cublasCreate(cublas), "cublasCreate", "");
        checks.blas(JCublas2.cublasSetStream(cublas, new cudaStream_t(stream)), "cublasSetStream", "");
        checks.blas(JCublas2.cublasSetMathMode(cublas, precision == Precision.TF32
                ? cublasMath.CUBLAS_TF32_TENSOR_OP_MATH : cublasMath.CUBLAS_DEFAULT_MATH), "cublasSetMathMode", precision);
        cudnn = new cudnnHandle();
        checks.dnn(() -> JCudnn.cudnnCreate(cudnn), "cudnnCreate", "");
        checks.dnn(JCudnn.cudnnSetStream(cudnn, new cudaStream_t(stream)), "cudnnSetStream", "");
    }

    /**
     * Makes the context current on the calling thread, at every operation: remembering the thread that used it
     * last is not enough, since two backends on two GPUs used from one thread take turns on it (and so may
     * anything else the thread runs). cuCtxSetCurrent only writes a thread-local pointer in the driver.
     */
    void bind(String backend) {
        checks.cu(makeCurrent.applyAsInt(context), "cuCtxSetCurrent", backend);
    }

    CUstream stream() {
        return stream;
    }

    CUmodule module() {
        return module;
    }

    cublasHandle cublas() {
        return cublas;
    }

    cudnnHandle cudnn() {
        return cudnn;
    }

    /** Whether the primary context is held (the backend got that far). */
    boolean retained() {
        return retained;
    }

    // ---- the kernel module -----------------------------------------------------------------------------

    /** Loads the PTX (or the file named by kiln.cuda.ptx / KILN_CUDA_PTX), lowering its header if refused. */
    void loadModule() {
        String override = NativeLibraries.setting("kiln.cuda.ptx", "KILN_CUDA_PTX", "");
        String ptx;
        String source;
        if (!override.isEmpty()) {
            try {
                ptx = java.nio.file.Files.readString(java.nio.file.Path.of(override), StandardCharsets.UTF_8);
            } catch (java.io.IOException e) {
                throw new CudaUnavailableException("cannot read the PTX named by kiln.cuda.ptx: " + override + ": " + e);
            }
            source = override;
        } else {
            ptx = new String(CudaResources.ptx(), StandardCharsets.UTF_8);
            source = "the built-in kernels.ptx";
        }
        module = new CUmodule();
        int s = JCudaDriver.cuModuleLoadData(module, nulTerminated(ptx));
        if (s != CUresult.CUDA_SUCCESS && (s == CUresult.CUDA_ERROR_UNSUPPORTED_PTX_VERSION
                || s == CUresult.CUDA_ERROR_INVALID_PTX || s == CUresult.CUDA_ERROR_NO_BINARY_FOR_GPU
                || s == CUresult.CUDA_ERROR_INVALID_IMAGE)) {
            String lowered = PtxPatcher.lower(ptx, gpu.major(), gpu.minor());
            int s2 = JCudaDriver.cuModuleLoadData(module, nulTerminated(lowered));
            if (s2 == CUresult.CUDA_SUCCESS) {
                s = s2;
            } else {
                throw new CudaException("cuModuleLoadData of " + source + " failed on " + gpu.name() + " (sm_" + gpu.major()
                        + gpu.minor() + "): " + CudaErrors.driverText(s) + "; with the header lowered to PTX ISA "
                        + PtxPatcher.FALLBACK_ISA + ": " + CudaErrors.driverText(s2) + ". Rebuild the PTX with your "
                        + "CUDA toolkit (KILN_PTX_ARCH=compute_" + gpu.major() + gpu.minor()
                        + " cuda-kernels/build-ptx.sh -o kernels.ptx) and pass -Dkiln.cuda.ptx=kernels.ptx; see docs/cuda.md",
                        "cuda", s2, false);
            }
        }
        checks.cu(s, "cuModuleLoadData", source);
    }

    private static byte[] nulTerminated(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return Arrays.copyOf(b, b.length + 1);
    }

    // ---- shutdown ----------------------------------------------------------------------------------------

    /** Makes the context current and waits for the stream, ignoring errors (for close). */
    void synchronizeQuietly() {
        if (stream != null) {
            JCudaDriver.cuCtxSetCurrent(context);
            JCudaDriver.cuStreamSynchronize(stream);
        }
    }

    /**
     * Releases everything, ignoring errors (the context may be unusable): with the context current, first
     * what the caller holds in it ({@code releaseMemory}: descriptors, workspaces, tensors), then the library
     * handles, the module and the stream, and last the primary context.
     */
    void close(Runnable releaseMemory) {
        try {
            JCudaDriver.cuCtxSetCurrent(context);
            releaseMemory.run();
            destroy(cudnn, JCudnn::cudnnDestroy);
            destroy(cublas, JCublas2::cublasDestroy);
            destroy(module, JCudaDriver::cuModuleUnload);
            destroy(stream, JCudaDriver::cuStreamDestroy);
        } catch (Throwable ignored) {
            // best effort
        } finally {
            cudnn = null;
            cublas = null;
            module = null;
            stream = null;
            if (retained) {
                retained = false;
                JCudaDriver.cuDevicePrimaryCtxRelease(device);
            }
        }
    }

    private static <T> void destroy(T handle, ToIntFunction<T> destroy) {
        if (handle != null) {
            destroy.applyAsInt(handle);
        }
    }
}
