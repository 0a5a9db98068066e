package io.kiln.engine.backend.cuda;

import io.kiln.cuda.CudaResources;
import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.ConvGeometry;
import io.kiln.engine.backend.LossKind;
import io.kiln.engine.backend.PoolGeometry;
import io.kiln.engine.backend.PoolMode;
import io.kiln.engine.backend.Precision;
import io.kiln.engine.tensor.Tensor;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.CUstream_flags;
import jcuda.driver.JCudaDriver;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasMath;
import jcuda.jcublas.cublasOperation;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnBatchNormMode;
import jcuda.jcudnn.cudnnConvolutionBwdDataAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionBwdFilterAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionDescriptor;
import jcuda.jcudnn.cudnnConvolutionFwdAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionMode;
import jcuda.jcudnn.cudnnDataType;
import jcuda.jcudnn.cudnnFilterDescriptor;
import jcuda.jcudnn.cudnnHandle;
import jcuda.jcudnn.cudnnMathType;
import jcuda.jcudnn.cudnnSoftmaxAlgorithm;
import jcuda.jcudnn.cudnnSoftmaxMode;
import jcuda.jcudnn.cudnnTensorDescriptor;
import jcuda.jcudnn.cudnnTensorFormat;
import jcuda.runtime.cudaStream_t;

/**
 * The CUDA backend: JCuda's driver API for the context, one stream, memory and Kiln's own kernels (PTX from
 * the kiln-cuda-kernels jar, loaded with cuModuleLoadData); cuBLAS SGEMM for matrix products; cuDNN for
 * convolutions (algorithm found once per shape with cudnnFind*AlgorithmEx, workspace shared), batch
 * normalisation and softmax. Everything is queued on the backend's stream; {@link #download} and
 * {@link #synchronize} wait for it. See {@code docs/cuda.md}.
 *
 * <p>Precision: {@link Precision#FP32} keeps cuBLAS at CUBLAS_DEFAULT_MATH (exact fp32 SGEMM) and cuDNN
 * convolutions at CUDNN_FMA_MATH (no TF32 even on Ampere and newer); {@link Precision#TF32} switches cuBLAS
 * to CUBLAS_TF32_TENSOR_OP_MATH and cuDNN to CUDNN_DEFAULT_MATH (TF32 tensor cores allowed, no fp16
 * down-conversion).
 *
 * <p>Errors become {@link CudaException}s naming the operation, its shapes and the library's message; after a
 * {@link CudaException#fatal() fatal} one every further call fails with it. Set {@code -Dkiln.cuda.sync=true}
 * (or {@code KILN_CUDA_SYNC=1}) to wait after every operation, so that an asynchronous error is reported by
 * the operation that caused it.
 */
public final class CudaBackend implements Backend {
    private static final int BLOCK = 256;
    private static final long STAGING_BYTES = 8L << 20;
    private static final long FIND_WORKSPACE_LIMIT = 1L << 30;

    /** Device memory held by the backend's allocator. */
    public record MemoryStats(long inUseBytes, long cachedBytes, long peakInUseBytes, long deviceAllocations,
                              long cacheHits) {
    }

    private final int ordinal;
    private final CudaDevices.Gpu gpu;
    private final Precision precision;
    private final List<NativeLibraries.Loaded> libraries;
    private final boolean syncEachOp;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private CUstream stream;
    private CUmodule module;
    private cublasHandle cublas;
    private cudnnHandle cudnn;
    private DeviceAllocator<CUdeviceptr> allocator;
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final Map<ConvGeometry, ConvPlan> convPlans = new HashMap<>();
    private final Map<List<Integer>, cudnnTensorDescriptor> tensorDescs = new HashMap<>();
    private final Map<List<Integer>, cudnnTensorDescriptor> bnParamDescs = new HashMap<>();
    private final Map<CudaTensor.Storage, Double> bnEps = new WeakHashMap<>();
    private final ArrayDeque<String> recentOps = new ArrayDeque<>();
    private final Pointer one = Pointer.to(new float[] {1f});
    private final Pointer zero = Pointer.to(new float[] {0f});
    private final Staging staging = new Staging();
    private CUdeviceptr workspace;
    private long workspaceBytes;
    private int maxBlocks;
    private volatile Thread boundThread;
    private volatile CudaException poisoned;
    private volatile boolean closed;
    private boolean retained;

    private CudaBackend(int ordinal, CudaDevices.Gpu gpu, Precision precision, List<NativeLibraries.Loaded> libraries) {
        this.ordinal = ordinal;
        this.gpu = gpu;
        this.precision = precision;
        this.libraries = libraries;
        this.syncEachOp = Boolean.parseBoolean(NativeLibraries.setting("kiln.cuda.sync", "KILN_CUDA_SYNC", "false")
                .replace("1", "true"));
    }

    /**
     * A backend on device {@code ordinal}. Throws {@link CudaUnavailableException} naming what is missing (no
     * libcuda.so.1, no device N and how many there are, no cuBLAS/cuDNN), or {@link CudaException} when the
     * device exists but could not be set up.
     */
    public static CudaBackend create(int ordinal, Precision precision) {
        Objects.requireNonNull(precision, "precision");
        CudaDevices.Discovery d = CudaDevices.discover(false);
        if (!d.available()) {
            throw new CudaUnavailableException(d.reason());
        }
        if (ordinal < 0 || ordinal >= d.gpus().size()) {
            throw new CudaUnavailableException("no CUDA device " + ordinal + ": this machine has " + d.gpus().size()
                    + " (cuda:0" + (d.gpus().size() > 1 ? " to cuda:" + (d.gpus().size() - 1) : "") + ")");
        }
        CudaDevices.Gpu gpu = d.gpus().get(ordinal);
        if (!gpu.supported()) {
            throw new CudaUnavailableException("cuda:" + ordinal + " (" + gpu.name() + ") has compute capability "
                    + gpu.computeCapability() + "; Kiln needs 6.1 or newer");
        }
        List<NativeLibraries.Loaded> libs = NativeLibraries.prepareLibraries();
        CudaBackend b = new CudaBackend(ordinal, gpu, precision, libs);
        try {
            b.init();
        } catch (RuntimeException | Error e) {
            b.closeQuietly();
            throw e;
        }
        return b;
    }

    private void init() {
        cu(JCudaDriver.cuDeviceGet(device, ordinal), "cuDeviceGet", "cuda:" + ordinal);
        cu(JCudaDriver.cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain", "cuda:" + ordinal);
        retained = true;
        cu(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent", "cuda:" + ordinal);
        boundThread = Thread.currentThread();
        stream = new CUstream();
        cu(JCudaDriver.cuStreamCreate(stream, CUstream_flags.CU_STREAM_NON_BLOCKING), "cuStreamCreate", "");
        maxBlocks = Math.max(64, gpu.multiprocessors() * 32);
        allocator = new DeviceAllocator<>(new DeviceAllocator.Raw<>() {
            @Override
            public CUdeviceptr malloc(long bytes) {
                CUdeviceptr p = new CUdeviceptr();
                int s = JCudaDriver.cuMemAlloc(p, bytes);
                if (s == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
                    return null;
                }
                cu(s, "cuMemAlloc", CudaStatus.bytes(bytes));
                return p;
            }

            @Override
            public void free(CUdeviceptr p) {
                JCudaDriver.cuMemFree(p);
            }

            @Override
            public long freeBytes() {
                long[] free = new long[1], total = new long[1];
                return JCudaDriver.cuMemGetInfo(free, total) == CUresult.CUDA_SUCCESS ? free[0] : -1;
            }

            @Override
            public void beforeFree() {
                JCudaDriver.cuStreamSynchronize(stream); // errors surface at the next checked call
            }
        });
        loadModule();
        cublas = new cublasHandle();
        blas(JCublas2.cublasCreate(cublas), "cublasCreate", "");
        blas(JCublas2.cublasSetStream(cublas, new cudaStream_t(stream)), "cublasSetStream", "");
        blas(JCublas2.cublasSetMathMode(cublas, precision == Precision.TF32
                ? cublasMath.CUBLAS_TF32_TENSOR_OP_MATH : cublasMath.CUBLAS_DEFAULT_MATH), "cublasSetMathMode", precision);
        cudnn = new cudnnHandle();
        dnn(JCudnn.cudnnCreate(cudnn), "cudnnCreate", "");
        dnn(JCudnn.cudnnSetStream(cudnn, new cudaStream_t(stream)), "cudnnSetStream", "");
    }

    /** Loads the PTX (or the file named by kiln.cuda.ptx / KILN_CUDA_PTX), lowering its header if refused. */
    private void loadModule() {
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
        cu(s, "cuModuleLoadData", source);
    }

    private static byte[] nulTerminated(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return Arrays.copyOf(b, b.length + 1);
    }

    private CUfunction function(String name) {
        CUfunction f = functions.get(name);
        if (f == null) {
            f = new CUfunction();
            cu(JCudaDriver.cuModuleGetFunction(f, module, name), "cuModuleGetFunction", name);
            functions.put(name, f);
        }
        return f;
    }

    // ---- identity ------------------------------------------------------------------------------------------

    @Override
    public String name() {
        return "cuda:" + ordinal + " (" + gpu.name() + ")";
    }

    public CudaDevices.Gpu gpu() {
        return gpu;
    }

    public Precision precision() {
        return precision;
    }

    /** Which cuBLAS and cuDNN are in use, and whether through Kiln's shims. */
    public List<String> libraries() {
        List<String> out = new ArrayList<>();
        for (NativeLibraries.Loaded l : libraries) {
            out.add(l.toString());
        }
        out.add("cuDNN version " + JCudnn.cudnnGetVersion());
        return out;
    }

    public MemoryStats memoryStats() {
        DeviceAllocator.Stats s = allocator.stats();
        return new MemoryStats(s.inUse(), s.cached(), s.peakInUse(), s.deviceAllocations(), s.cacheHits());
    }

    /** Frees the device memory the allocator keeps cached. */
    public void emptyCache() {
        begin("emptyCache");
        allocator.emptyCache();
    }

    // ---- status checks ---------------------------------------------------------------------------------------

    private void begin(String op) {
        if (closed) {
            throw new IllegalStateException(name() + " is closed (" + op + ")");
        }
        CudaException p = poisoned;
        if (p != null) {
            throw new CudaException(op + ": the CUDA context of " + name() + " is unusable after an earlier error: "
                    + p.getMessage(), p.library(), p.status(), true, p);
        }
        Thread t = Thread.currentThread();
        if (boundThread != t) {
            cu(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent", name());
            boundThread = t;
        }
        if (recentOps.size() == 8) {
            recentOps.removeFirst();
        }
        recentOps.addLast(op);
    }

    private void end(String op, Object detail) {
        if (syncEachOp) {
            cu(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize after " + op, detail);
        }
    }

    private CudaException record(CudaException e) {
        if (e.fatal()) {
            poisoned = e;
        }
        return e;
    }

    private String where(String call, Object detail) {
        String d = detail == null ? "" : detail instanceof Object[] arr ? Arrays.deepToString(arr) : detail.toString();
        return call + (d.isEmpty() ? "" : " [" + d + "]") + " on " + (gpu == null ? "cuda:" + ordinal : name());
    }

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

    private void blas(int status, String call, Object detail) {
        if (status != 0) {
            boolean fatal = CudaStatus.fatalCublas(status);
            String extra = status == 3 ? "; device memory free: " + CudaStatus.bytes(allocatorFree()) : "";
            throw record(new CudaException(where(call, detail) + " failed: " + CudaStatus.cublas(status) + extra, "cublas",
                    status, fatal));
        }
    }

    private void dnn(int status, String call, Object detail) {
        if (status != 0) {
            String text;
            try {
                text = JCudnn.cudnnGetErrorString(status);
            } catch (Throwable t) {
                text = null;
            }
            if (text == null || text.isBlank()) {
                text = CudaStatus.cudnn(status);
            }
            String extra = status == 2 || text.contains("ALLOC")
                    ? "; device memory free: " + CudaStatus.bytes(allocatorFree()) : "";
            throw record(new CudaException(where(call, detail) + " failed: " + text + " (status " + status + ")" + extra,
                    "cudnn", status, CudaStatus.fatalCudnn(status)));
        }
    }

    private long allocatorFree() {
        long[] free = new long[1], total = new long[1];
        return JCudaDriver.cuMemGetInfo(free, total) == CUresult.CUDA_SUCCESS ? free[0] : -1;
    }

    // ---- argument checks ---------------------------------------------------------------------------------------

    private CudaTensor dev(Tensor t, String what) {
        Objects.requireNonNull(t, what);
        if (!(t instanceof CudaTensor c) || c.storage.owner != this) {
            throw new IllegalArgumentException(what + " " + t + " belongs to another backend; " + name()
                    + " takes only its own CudaTensors");
        }
        if (c.isClosed()) {
            throw new IllegalStateException(what + " " + t + " is closed");
        }
        return c;
    }

    private static void expectSize(String op, String what, Tensor t, long expected, String expectation) {
        if (t.size() != expected) {
            throw new IllegalArgumentException(op + ": " + what + " " + Arrays.toString(t.shape()) + " has " + t.size()
                    + " elements, expected " + expected + " (" + expectation + ")");
        }
    }

    private static void sameSize(String op, String what, Tensor t, String refWhat, Tensor ref) {
        if (t.size() != ref.size()) {
            throw new IllegalArgumentException(op + ": " + what + " " + Arrays.toString(t.shape()) + " and " + refWhat
                    + " " + Arrays.toString(ref.shape()) + " differ in size");
        }
    }

    private static void noAlias(String op, String out, CudaTensor o, String in, CudaTensor i) {
        if (o.storage == i.storage) {
            throw new IllegalArgumentException(op + ": output " + out + " must not share storage with input " + in);
        }
    }

    private static int channelsOf(String op, String what, Tensor t) {
        if (t.rank() < 2) {
            throw new IllegalArgumentException(op + ": " + what + " " + Arrays.toString(t.shape())
                    + " must have rank >= 2 ([n, c, spatial...])");
        }
        return t.dim(1);
    }

    // ---- kernels -----------------------------------------------------------------------------------------------

    /** Launches a grid-stride kernel over {@code work} items. */
    private void launch(String kernel, long work, Object... args) {
        if (work <= 0) {
            return;
        }
        int blocks = (int) Math.min((work + BLOCK - 1) / BLOCK, maxBlocks);
        launchGrid(kernel, blocks, args);
    }

    private void launchGrid(String kernel, int blocks, Object... args) {
        NativePointerObject[] params = new NativePointerObject[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            if (a == null) {
                params[i] = Pointer.to(new CUdeviceptr());
            } else if (a instanceof CudaTensor t) {
                params[i] = Pointer.to(t.pointer());
            } else if (a instanceof Integer v) {
                params[i] = Pointer.to(new int[] {v});
            } else if (a instanceof Float v) {
                params[i] = Pointer.to(new float[] {v});
            } else if (a instanceof Long v) {
                params[i] = Pointer.to(new long[] {v});
            } else if (a instanceof Boolean v) {
                params[i] = Pointer.to(new int[] {v ? 1 : 0});
            } else {
                throw new IllegalArgumentException("kernel argument " + a);
            }
        }
        cu(JCudaDriver.cuLaunchKernel(function(kernel), blocks, 1, 1, BLOCK, 1, 1, 0, stream, Pointer.to(params), null),
                "cuLaunchKernel " + kernel, blocks + " blocks of " + BLOCK);
    }

    // ---- memory ------------------------------------------------------------------------------------------------

    @Override
    public CudaTensor allocate(int... shape) {
        int size = Tensor.sizeOf(shape);
        begin("allocate");
        DeviceAllocator.Block<CUdeviceptr> block = allocator.allocate(Math.max(1L, size) * Float.BYTES,
                "a tensor of shape " + Arrays.toString(shape));
        CudaTensor t = new CudaTensor(new CudaTensor.Storage(this, block), shape, true);
        if (size > 0) {
            cu(JCudaDriver.cuMemsetD32Async(t.pointer(), 0, size, stream), "cuMemsetD32Async", Arrays.toString(shape));
        }
        return t;
    }

    void release(CudaTensor.Storage s) {
        if (!closed) {
            allocator.release(s.block);
        }
    }

    @Override
    public void upload(float[] src, Tensor dst) {
        CudaTensor d = dev(dst, "dst");
        if (src.length != d.size()) {
            throw new IllegalArgumentException("upload: source of " + src.length + " floats, destination "
                    + Arrays.toString(dst.shape()) + " has " + d.size() + " elements");
        }
        begin("upload");
        staging.upload(src, d.pointer());
        end("upload", d);
    }

    @Override
    public void download(Tensor src, float[] dst) {
        CudaTensor s = dev(src, "src");
        if (dst.length != s.size()) {
            throw new IllegalArgumentException("download: source " + Arrays.toString(src.shape()) + " has " + s.size()
                    + " elements, destination holds " + dst.length + " floats");
        }
        begin("download");
        staging.download(s.pointer(), dst);
    }

    @Override
    public void fill(Tensor t, float value) {
        CudaTensor c = dev(t, "t");
        begin("fill");
        if (c.size() > 0) {
            cu(JCudaDriver.cuMemsetD32Async(c.pointer(), Float.floatToRawIntBits(value), c.size(), stream),
                    "cuMemsetD32Async", "fill " + c);
        }
        end("fill", c);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        CudaTensor s = dev(src, "src"), d = dev(dst, "dst");
        sameSize("copy", "src", src, "dst", dst);
        begin("copy");
        if (s.storage != d.storage && s.size() > 0) {
            cu(JCudaDriver.cuMemcpyDtoDAsync(d.pointer(), s.pointer(), (long) s.size() * Float.BYTES, stream),
                    "cuMemcpyDtoDAsync", s + " -> " + d);
        }
        end("copy", d);
    }

    @Override
    public void synchronize() {
        begin("synchronize");
        cu(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize", "");
    }

    /** Pinned host buffers for uploads and downloads, two of them so an upload can overlap the next copy. */
    private final class Staging {
        private final Pointer[] host = new Pointer[2];
        private final FloatBuffer[] view = new FloatBuffer[2];
        private final CUevent[] done = new CUevent[2];
        private int next;

        private int buffer() {
            int i = next;
            next ^= 1;
            if (host[i] == null) {
                Pointer p = new Pointer();
                cu(JCudaDriver.cuMemAllocHost(p, STAGING_BYTES), "cuMemAllocHost", CudaStatus.bytes(STAGING_BYTES));
                host[i] = p;
                view[i] = p.getByteBuffer(0, STAGING_BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
                done[i] = new CUevent();
                cu(JCudaDriver.cuEventCreate(done[i], CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate", "");
            }
            // the previous copy out of this buffer must have finished before it is overwritten
            cu(JCudaDriver.cuEventSynchronize(done[i]), "cuEventSynchronize", "staging buffer");
            return i;
        }

        void upload(float[] src, CUdeviceptr dst) {
            int chunk = (int) (STAGING_BYTES / Float.BYTES);
            for (int off = 0; off < src.length; off += chunk) {
                int n = Math.min(chunk, src.length - off);
                int i = buffer();
                view[i].clear();
                view[i].put(src, off, n);
                cu(JCudaDriver.cuMemcpyHtoDAsync(dst.withByteOffset((long) off * Float.BYTES), host[i], (long) n * Float.BYTES,
                        stream), "cuMemcpyHtoDAsync", n + " floats");
                cu(JCudaDriver.cuEventRecord(done[i], stream), "cuEventRecord", "");
            }
        }

        void download(CUdeviceptr src, float[] dst) {
            int chunk = (int) (STAGING_BYTES / Float.BYTES);
            if (dst.length == 0) {
                cu(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize", "download");
                return;
            }
            for (int off = 0; off < dst.length; off += chunk) {
                int n = Math.min(chunk, dst.length - off);
                int i = buffer();
                cu(JCudaDriver.cuMemcpyDtoHAsync(host[i], src.withByteOffset((long) off * Float.BYTES), (long) n * Float.BYTES,
                        stream), "cuMemcpyDtoHAsync", n + " floats");
                cu(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize", "download");
                view[i].clear();
                view[i].get(dst, off, n);
            }
        }

        void free() {
            for (int i = 0; i < 2; i++) {
                if (host[i] != null) {
                    JCudaDriver.cuMemFreeHost(host[i]);
                    JCudaDriver.cuEventDestroy(done[i]);
                    host[i] = null;
                }
            }
        }
    }

    // ---- matrix products ---------------------------------------------------------------------------------------

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta,
                     Tensor c) {
        CudaTensor ad = dev(a, "A"), bd = dev(b, "B"), cd = dev(c, "C");
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("gemm: negative dimension m=" + m + " n=" + n + " k=" + k);
        }
        expectSize("gemm", "A", a, (long) m * k, (transA ? "[k, m] = [" + k + ", " + m : "[m, k] = [" + m + ", " + k) + "]");
        expectSize("gemm", "B", b, (long) k * n, (transB ? "[n, k] = [" + n + ", " + k : "[k, n] = [" + k + ", " + n) + "]");
        expectSize("gemm", "C", c, (long) m * n, "[m, n] = [" + m + ", " + n + "]");
        noAlias("gemm", "C", cd, "A", ad);
        noAlias("gemm", "C", cd, "B", bd);
        begin("gemm");
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0 || alpha == 0f) {
            if (beta == 0f) {
                cu(JCudaDriver.cuMemsetD32Async(cd.pointer(), 0, (long) m * n, stream), "cuMemsetD32Async", "gemm C");
            } else if (beta != 1f) {
                launch("kiln_scale", (long) m * n, cd, beta, m * n);
            }
            end("gemm", c);
            return;
        }
        GemmMapping g = GemmMapping.of(transA, transB, m, n, k);
        blas(JCublas2.cublasSgemm(cublas,
                        g.firstTransposed() ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N,
                        g.secondTransposed() ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N,
                        g.m(), g.n(), g.k(), Pointer.to(new float[] {alpha}), bd.pointer(), g.ldFirst(),
                        ad.pointer(), g.ldSecond(), Pointer.to(new float[] {beta}), cd.pointer(), g.ldc()),
                "cublasSgemm", new Object[] {"transA=" + transA, "transB=" + transB, "m=" + m, "n=" + n, "k=" + k});
        end("gemm", c);
    }

    // ---- convolution -------------------------------------------------------------------------------------------

    /** Descriptors and algorithms of one convolution shape (found once, on first use of each direction). */
    private final class ConvPlan {
        final ConvGeometry g;
        final cudnnTensorDescriptor x;
        final cudnnFilterDescriptor w;
        final cudnnConvolutionDescriptor conv;
        final cudnnTensorDescriptor y;
        int fwdAlgo = -1;
        long fwdWs;
        int dataAlgo = -1;
        long dataWs;
        int filterAlgo = -1;
        long filterWs;

        ConvPlan(ConvGeometry g) {
            this.g = g;
            x = tensorDesc(g.n(), g.c(), g.h(), g.w());
            y = tensorDesc(g.n(), g.k(), g.outH(), g.outW());
            w = new cudnnFilterDescriptor();
            dnn(JCudnn.cudnnCreateFilterDescriptor(w), "cudnnCreateFilterDescriptor", g);
            dnn(JCudnn.cudnnSetFilter4dDescriptor(w, cudnnDataType.CUDNN_DATA_FLOAT, cudnnTensorFormat.CUDNN_TENSOR_NCHW,
                    g.k(), g.c(), g.kernelH(), g.kernelW()), "cudnnSetFilter4dDescriptor", g);
            conv = new cudnnConvolutionDescriptor();
            dnn(JCudnn.cudnnCreateConvolutionDescriptor(conv), "cudnnCreateConvolutionDescriptor", g);
            dnn(JCudnn.cudnnSetConvolution2dDescriptor(conv, g.padH(), g.padW(), g.strideH(), g.strideW(), 1, 1,
                    cudnnConvolutionMode.CUDNN_CROSS_CORRELATION, cudnnDataType.CUDNN_DATA_FLOAT),
                    "cudnnSetConvolution2dDescriptor", g);
            dnn(JCudnn.cudnnSetConvolutionMathType(conv, precision == Precision.TF32
                    ? cudnnMathType.CUDNN_DEFAULT_MATH : cudnnMathType.CUDNN_FMA_MATH), "cudnnSetConvolutionMathType", g);
            int[] n = new int[1], c = new int[1], h = new int[1], wd = new int[1];
            dnn(JCudnn.cudnnGetConvolution2dForwardOutputDim(conv, x, w, n, c, h, wd),
                    "cudnnGetConvolution2dForwardOutputDim", g);
            if (n[0] != g.n() || c[0] != g.k() || h[0] != g.outH() || wd[0] != g.outW()) {
                throw new CudaException("cuDNN's output shape " + Arrays.toString(new int[] {n[0], c[0], h[0], wd[0]})
                        + " differs from Kiln's " + Arrays.toString(g.outputShape()) + " for " + g, "kiln", 0, false);
            }
        }

        void destroy() {
            JCudnn.cudnnDestroyFilterDescriptor(w);
            JCudnn.cudnnDestroyConvolutionDescriptor(conv);
        }
    }

    private cudnnTensorDescriptor tensorDesc(int n, int c, int h, int w) {
        List<Integer> key = List.of(n, c, h, w);
        cudnnTensorDescriptor d = tensorDescs.get(key);
        if (d == null) {
            d = new cudnnTensorDescriptor();
            dnn(JCudnn.cudnnCreateTensorDescriptor(d), "cudnnCreateTensorDescriptor", key);
            dnn(JCudnn.cudnnSetTensor4dDescriptor(d, cudnnTensorFormat.CUDNN_TENSOR_NCHW, cudnnDataType.CUDNN_DATA_FLOAT,
                    n, c, h, w), "cudnnSetTensor4dDescriptor", key);
            tensorDescs.put(key, d);
        }
        return d;
    }

    private ConvPlan plan(ConvGeometry g) {
        ConvPlan p = convPlans.get(g);
        if (p == null) {
            p = new ConvPlan(g);
            convPlans.put(g, p);
        }
        return p;
    }

    /** A temporary workspace for cudnnFind*Ex: as large as possible up to 1 GiB and a third of free memory. */
    private CUdeviceptr findWorkspace(long[] size) {
        long limit = Math.min(FIND_WORKSPACE_LIMIT, Math.max(0, allocatorFree() / 3));
        while (limit >= (1L << 20)) {
            CUdeviceptr p = new CUdeviceptr();
            if (JCudaDriver.cuMemAlloc(p, limit) == CUresult.CUDA_SUCCESS) {
                size[0] = limit;
                return p;
            }
            limit /= 2;
        }
        size[0] = 0;
        return new CUdeviceptr();
    }

    private void freeFindWorkspace(CUdeviceptr p, long size) {
        if (size > 0) {
            cu(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize", "after algorithm search");
            JCudaDriver.cuMemFree(p);
        }
    }

    /** The shared workspace, grown to at least {@code bytes}. */
    private CUdeviceptr workspace(long bytes) {
        if (bytes > workspaceBytes) {
            if (workspace != null) {
                cu(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize", "growing the cuDNN workspace");
                JCudaDriver.cuMemFree(workspace);
                workspace = null;
                workspaceBytes = 0;
            }
            CUdeviceptr p = new CUdeviceptr();
            int s = JCudaDriver.cuMemAlloc(p, bytes);
            if (s == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
                allocator.emptyCache();
                s = JCudaDriver.cuMemAlloc(p, bytes);
            }
            if (s == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
                long free = allocatorFree();
                throw new CudaOutOfMemoryException("CUDA out of memory allocating the cuDNN workspace of "
                        + CudaStatus.bytes(bytes) + ": " + CudaStatus.bytes(free) + " free on " + name(), bytes, free);
            }
            cu(s, "cuMemAlloc", "cuDNN workspace " + CudaStatus.bytes(bytes));
            workspace = p;
            workspaceBytes = bytes;
        }
        return workspace == null ? new CUdeviceptr() : workspace;
    }

    private static void checkConv(String op, ConvGeometry g, Tensor x, String xName, Tensor w, Tensor y, String yName) {
        Objects.requireNonNull(g, "geometry");
        expectSize(op, xName, x, (long) g.n() * g.c() * g.h() * g.w(), "input " + Arrays.toString(g.inputShape()) + " of " + g);
        expectSize(op, "w", w, (long) g.k() * g.c() * g.kernelH() * g.kernelW(), "filters " + Arrays.toString(g.filterShape()) + " of " + g);
        expectSize(op, yName, y, (long) g.n() * g.k() * g.outH() * g.outW(), "output " + Arrays.toString(g.outputShape()) + " of " + g);
    }

    @Override
    public void conv2dForward(ConvGeometry g, Tensor x, Tensor w, Tensor y) {
        CudaTensor xd = dev(x, "x"), wd = dev(w, "w"), yd = dev(y, "y");
        checkConv("conv2dForward", g, x, "x", w, y, "y");
        noAlias("conv2dForward", "y", yd, "x", xd);
        noAlias("conv2dForward", "y", yd, "w", wd);
        begin("conv2dForward");
        ConvPlan p = plan(g);
        if (p.fwdAlgo < 0) {
            int[] max = new int[1];
            dnn(JCudnn.cudnnGetConvolutionForwardAlgorithmMaxCount(cudnn, max), "cudnnGetConvolutionForwardAlgorithmMaxCount", g);
            cudnnConvolutionFwdAlgoPerf[] perf = new cudnnConvolutionFwdAlgoPerf[Math.max(1, max[0])];
            for (int i = 0; i < perf.length; i++) {
                perf[i] = new cudnnConvolutionFwdAlgoPerf();
            }
            int[] returned = new int[1];
            long[] wsSize = new long[1];
            CUdeviceptr ws = findWorkspace(wsSize);
            try {
                dnn(JCudnn.cudnnFindConvolutionForwardAlgorithmEx(cudnn, p.x, xd.pointer(), p.w, wd.pointer(), p.conv, p.y,
                        yd.pointer(), perf.length, returned, perf, ws, wsSize[0]), "cudnnFindConvolutionForwardAlgorithmEx", g);
            } finally {
                freeFindWorkspace(ws, wsSize[0]);
            }
            for (int i = 0; i < returned[0] && p.fwdAlgo < 0; i++) {
                if (perf[i].status == 0) {
                    p.fwdAlgo = perf[i].algo;
                    p.fwdWs = perf[i].memory;
                }
            }
            if (p.fwdAlgo < 0) { // IMPLICIT_GEMM works for every shape
                p.fwdAlgo = 0;
                long[] s = new long[1];
                dnn(JCudnn.cudnnGetConvolutionForwardWorkspaceSize(cudnn, p.x, p.w, p.conv, p.y, 0, s),
                        "cudnnGetConvolutionForwardWorkspaceSize", g);
                p.fwdWs = s[0];
            }
        }
        CUdeviceptr ws = workspace(p.fwdWs);
        dnn(JCudnn.cudnnConvolutionForward(cudnn, one, p.x, xd.pointer(), p.w, wd.pointer(), p.conv, p.fwdAlgo, ws, p.fwdWs,
                zero, p.y, yd.pointer()), "cudnnConvolutionForward", g + " algo " + p.fwdAlgo);
        end("conv2dForward", g);
    }

    @Override
    public void conv2dBackwardData(ConvGeometry g, Tensor w, Tensor dy, Tensor dx) {
        CudaTensor wd = dev(w, "w"), dyd = dev(dy, "dy"), dxd = dev(dx, "dx");
        checkConv("conv2dBackwardData", g, dx, "dx", w, dy, "dy");
        noAlias("conv2dBackwardData", "dx", dxd, "dy", dyd);
        noAlias("conv2dBackwardData", "dx", dxd, "w", wd);
        begin("conv2dBackwardData");
        ConvPlan p = plan(g);
        if (p.dataAlgo < 0) {
            int[] max = new int[1];
            dnn(JCudnn.cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnn, max),
                    "cudnnGetConvolutionBackwardDataAlgorithmMaxCount", g);
            cudnnConvolutionBwdDataAlgoPerf[] perf = new cudnnConvolutionBwdDataAlgoPerf[Math.max(1, max[0])];
            for (int i = 0; i < perf.length; i++) {
                perf[i] = new cudnnConvolutionBwdDataAlgoPerf();
            }
            int[] returned = new int[1];
            long[] wsSize = new long[1];
            CUdeviceptr ws = findWorkspace(wsSize);
            try {
                dnn(JCudnn.cudnnFindConvolutionBackwardDataAlgorithmEx(cudnn, p.w, wd.pointer(), p.y, dyd.pointer(), p.conv,
                        p.x, dxd.pointer(), perf.length, returned, perf, ws, wsSize[0]),
                        "cudnnFindConvolutionBackwardDataAlgorithmEx", g);
            } finally {
                freeFindWorkspace(ws, wsSize[0]);
            }
            for (int i = 0; i < returned[0] && p.dataAlgo < 0; i++) {
                if (perf[i].status == 0) {
                    p.dataAlgo = perf[i].algo;
                    p.dataWs = perf[i].memory;
                }
            }
            if (p.dataAlgo < 0) { // ALGO_0 works for every shape
                p.dataAlgo = 0;
                long[] s = new long[1];
                dnn(JCudnn.cudnnGetConvolutionBackwardDataWorkspaceSize(cudnn, p.w, p.y, p.conv, p.x, 0, s),
                        "cudnnGetConvolutionBackwardDataWorkspaceSize", g);
                p.dataWs = s[0];
            }
        }
        CUdeviceptr ws = workspace(p.dataWs);
        dnn(JCudnn.cudnnConvolutionBackwardData(cudnn, one, p.w, wd.pointer(), p.y, dyd.pointer(), p.conv, p.dataAlgo, ws,
                p.dataWs, zero, p.x, dxd.pointer()), "cudnnConvolutionBackwardData", g + " algo " + p.dataAlgo);
        end("conv2dBackwardData", g);
    }

    @Override
    public void conv2dBackwardFilter(ConvGeometry g, Tensor x, Tensor dy, Tensor dw) {
        CudaTensor xd = dev(x, "x"), dyd = dev(dy, "dy"), dwd = dev(dw, "dw");
        checkConv("conv2dBackwardFilter", g, x, "x", dw, dy, "dy");
        noAlias("conv2dBackwardFilter", "dw", dwd, "x", xd);
        noAlias("conv2dBackwardFilter", "dw", dwd, "dy", dyd);
        begin("conv2dBackwardFilter");
        ConvPlan p = plan(g);
        if (p.filterAlgo < 0) {
            int[] max = new int[1];
            dnn(JCudnn.cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnn, max),
                    "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount", g);
            cudnnConvolutionBwdFilterAlgoPerf[] perf = new cudnnConvolutionBwdFilterAlgoPerf[Math.max(1, max[0])];
            for (int i = 0; i < perf.length; i++) {
                perf[i] = new cudnnConvolutionBwdFilterAlgoPerf();
            }
            int[] returned = new int[1];
            long[] wsSize = new long[1];
            CUdeviceptr ws = findWorkspace(wsSize);
            try {
                dnn(JCudnn.cudnnFindConvolutionBackwardFilterAlgorithmEx(cudnn, p.x, xd.pointer(), p.y, dyd.pointer(), p.conv,
                        p.w, dwd.pointer(), perf.length, returned, perf, ws, wsSize[0]),
                        "cudnnFindConvolutionBackwardFilterAlgorithmEx", g);
            } finally {
                freeFindWorkspace(ws, wsSize[0]);
            }
            for (int i = 0; i < returned[0] && p.filterAlgo < 0; i++) {
                if (perf[i].status == 0) {
                    p.filterAlgo = perf[i].algo;
                    p.filterWs = perf[i].memory;
                }
            }
            if (p.filterAlgo < 0) { // ALGO_0 works for every shape
                p.filterAlgo = 0;
                long[] s = new long[1];
                dnn(JCudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnn, p.x, p.y, p.conv, p.w, 0, s),
                        "cudnnGetConvolutionBackwardFilterWorkspaceSize", g);
                p.filterWs = s[0];
            }
        }
        CUdeviceptr ws = workspace(p.filterWs);
        dnn(JCudnn.cudnnConvolutionBackwardFilter(cudnn, one, p.x, xd.pointer(), p.y, dyd.pointer(), p.conv, p.filterAlgo,
                ws, p.filterWs, zero, p.w, dwd.pointer()), "cudnnConvolutionBackwardFilter", g + " algo " + p.filterAlgo);
        end("conv2dBackwardFilter", g);
    }

    // ---- bias --------------------------------------------------------------------------------------------------

    @Override
    public void addBias(Tensor y, Tensor bias) {
        CudaTensor yd = dev(y, "y"), bd = dev(bias, "bias");
        int c = channelsOf("addBias", "y", y);
        expectSize("addBias", "bias", bias, c, "dimension 1 of y " + Arrays.toString(y.shape()));
        noAlias("addBias", "y", yd, "bias", bd);
        int n = y.dim(0), spatial = c == 0 || n == 0 ? 0 : y.size() / (n * c);
        begin("addBias");
        launch("kiln_add_bias", y.size(), yd, bd, c, Math.max(spatial, 1), y.size());
        end("addBias", y);
    }

    @Override
    public void biasBackward(Tensor dy, Tensor db) {
        CudaTensor dyd = dev(dy, "dy"), dbd = dev(db, "db");
        int c = channelsOf("biasBackward", "dy", dy);
        expectSize("biasBackward", "db", db, c, "dimension 1 of dy " + Arrays.toString(dy.shape()));
        noAlias("biasBackward", "db", dbd, "dy", dyd);
        int n = dy.dim(0), spatial = c == 0 || n == 0 ? 0 : dy.size() / (n * c);
        begin("biasBackward");
        if (c > 0) {
            launchGrid("kiln_bias_backward", c, dyd, dbd, n, c, spatial);
        }
        end("biasBackward", dy);
    }

    // ---- pooling -----------------------------------------------------------------------------------------------

    private static void checkPool(String op, PoolMode mode, PoolGeometry g, Tensor x, String xName, Tensor y, String yName) {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(g, "geometry");
        expectSize(op, xName, x, (long) g.n() * g.c() * g.h() * g.w(), "input " + Arrays.toString(g.inputShape()) + " of " + g);
        expectSize(op, yName, y, (long) g.n() * g.c() * g.outH() * g.outW(), "output " + Arrays.toString(g.outputShape()) + " of " + g);
    }

    @Override
    public void poolForward(PoolMode mode, PoolGeometry g, Tensor x, Tensor y) {
        CudaTensor xd = dev(x, "x"), yd = dev(y, "y");
        checkPool("poolForward", mode, g, x, "x", y, "y");
        noAlias("poolForward", "y", yd, "x", xd);
        begin("poolForward");
        int planes = g.n() * g.c();
        launch("kiln_pool_forward", (long) planes * g.outH() * g.outW(), mode == PoolMode.MAX ? 0 : 1, xd, yd, planes,
                g.h(), g.w(), g.outH(), g.outW(), g.windowH(), g.windowW(), g.strideH(), g.strideW(), g.padH(), g.padW());
        end("poolForward", g);
    }

    @Override
    public void poolBackward(PoolMode mode, PoolGeometry g, Tensor x, Tensor y, Tensor dy, Tensor dx) {
        CudaTensor xd = dev(x, "x"), dyd = dev(dy, "dy"), dxd = dev(dx, "dx");
        dev(y, "y");
        checkPool("poolBackward", mode, g, x, "x", y, "y");
        checkPool("poolBackward", mode, g, dx, "dx", dy, "dy");
        noAlias("poolBackward", "dx", dxd, "dy", dyd);
        noAlias("poolBackward", "dx", dxd, "x", xd);
        begin("poolBackward");
        int planes = g.n() * g.c();
        launch("kiln_pool_backward", (long) planes * g.h() * g.w(), mode == PoolMode.MAX ? 0 : 1, xd, dyd, dxd, planes,
                g.h(), g.w(), g.outH(), g.outW(), g.windowH(), g.windowW(), g.strideH(), g.strideW(), g.padH(), g.padW());
        end("poolBackward", g);
    }

    // ---- pointwise ---------------------------------------------------------------------------------------------

    private static int activationKind(Activation f) {
        return switch (Objects.requireNonNull(f, "activation")) {
            case RELU -> 0;
            case SIGMOID -> 1;
            case TANH -> 2;
        };
    }

    @Override
    public void activationForward(Activation f, Tensor x, Tensor y) {
        int kind = activationKind(f);
        CudaTensor xd = dev(x, "x"), yd = dev(y, "y");
        sameSize("activationForward", "x", x, "y", y);
        begin("activationForward");
        launch("kiln_activation_forward", x.size(), kind, xd, yd, x.size());
        end("activationForward", f);
    }

    @Override
    public void activationBackward(Activation f, Tensor y, Tensor dy, Tensor dx) {
        int kind = activationKind(f);
        CudaTensor yd = dev(y, "y"), dyd = dev(dy, "dy"), dxd = dev(dx, "dx");
        sameSize("activationBackward", "dy", dy, "y", y);
        sameSize("activationBackward", "dx", dx, "y", y);
        begin("activationBackward");
        launch("kiln_activation_backward", y.size(), kind, yd, dyd, dxd, y.size());
        end("activationBackward", f);
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        CudaTensor ad = dev(a, "a"), bd = dev(b, "b"), od = dev(out, "out");
        sameSize("add", "b", b, "a", a);
        sameSize("add", "out", out, "a", a);
        begin("add");
        launch("kiln_add", a.size(), ad, bd, od, a.size());
        end("add", a);
    }

    @Override
    public void multiply(Tensor a, Tensor b, Tensor out) {
        CudaTensor ad = dev(a, "a"), bd = dev(b, "b"), od = dev(out, "out");
        sameSize("multiply", "b", b, "a", a);
        sameSize("multiply", "out", out, "a", a);
        begin("multiply");
        launch("kiln_multiply", a.size(), ad, bd, od, a.size());
        end("multiply", a);
    }

    @Override
    public void axpy(float alpha, Tensor x, Tensor y) {
        CudaTensor xd = dev(x, "x"), yd = dev(y, "y");
        sameSize("axpy", "x", x, "y", y);
        begin("axpy");
        launch("kiln_axpy", y.size(), alpha, xd, yd, y.size());
        end("axpy", y);
    }

    @Override
    public void scale(Tensor x, float alpha) {
        CudaTensor xd = dev(x, "x");
        begin("scale");
        launch("kiln_scale", x.size(), xd, alpha, x.size());
        end("scale", x);
    }

    @Override
    public void dropoutForward(Tensor x, float p, long seed, Tensor mask, Tensor y) {
        CudaTensor xd = dev(x, "x"), md = dev(mask, "mask"), yd = dev(y, "y");
        if (!(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException("dropoutForward: p must be in [0, 1), got " + p);
        }
        sameSize("dropoutForward", "mask", mask, "x", x);
        sameSize("dropoutForward", "y", y, "x", x);
        noAlias("dropoutForward", "mask", md, "x", xd);
        noAlias("dropoutForward", "mask", md, "y", yd);
        float keep = 1f / (1f - p);
        begin("dropoutForward");
        launch("kiln_dropout", x.size(), xd, md, yd, p, keep, seed, x.size());
        end("dropoutForward", x);
    }

    // ---- batch normalisation (cuDNN, spatial mode over [n, c, spatial, 1]) --------------------------------------

    private record BnShape(int n, int c, int spatial) {
    }

    private BnShape bnShape(String op, Tensor x) {
        int c = channelsOf(op, "x", x);
        int n = x.dim(0);
        return new BnShape(n, c, c == 0 || n == 0 ? 0 : x.size() / (n * c));
    }

    private cudnnTensorDescriptor bnParamDesc(BnShape s, cudnnTensorDescriptor xDesc) {
        List<Integer> key = List.of(s.n(), s.c(), s.spatial());
        cudnnTensorDescriptor d = bnParamDescs.get(key);
        if (d == null) {
            d = new cudnnTensorDescriptor();
            dnn(JCudnn.cudnnCreateTensorDescriptor(d), "cudnnCreateTensorDescriptor", key);
            dnn(JCudnn.cudnnDeriveBNTensorDescriptor(d, xDesc, cudnnBatchNormMode.CUDNN_BATCHNORM_SPATIAL),
                    "cudnnDeriveBNTensorDescriptor", key);
            bnParamDescs.put(key, d);
        }
        return d;
    }

    private void checkBnParam(String op, int c, Tensor x, Tensor t, String what) {
        dev(t, what);
        expectSize(op, what, t, c, "channels of x " + Arrays.toString(x.shape()));
    }

    /** The float epsilon as the decimal the user wrote (1e-5f becomes 1e-5, not 9.99999974e-6). */
    private static double epsilon(float eps) {
        return Double.parseDouble(Float.toString(eps));
    }

    @Override
    public void batchNormForwardTraining(Tensor x, Tensor gamma, Tensor beta, float eps, float momentum,
                                         Tensor runningMean, Tensor runningVar, Tensor saveMean, Tensor saveInvStd,
                                         Tensor y) {
        String op = "batchNormForwardTraining";
        CudaTensor xd = dev(x, "x"), yd = dev(y, "y");
        BnShape s = bnShape(op, x);
        for (Object[] p : new Object[][] {{gamma, "gamma"}, {beta, "beta"}, {runningMean, "runningMean"},
                {runningVar, "runningVar"}, {saveMean, "saveMean"}, {saveInvStd, "saveInvStd"}}) {
            checkBnParam(op, s.c(), x, (Tensor) p[0], (String) p[1]);
        }
        sameSize(op, "y", y, "x", x);
        begin(op);
        if (x.size() == 0) {
            return;
        }
        cudnnTensorDescriptor xDesc = tensorDesc(s.n(), s.c(), s.spatial(), 1);
        double e = epsilon(eps);
        bnEps.put(((CudaTensor) saveInvStd).storage, e);
        dnn(JCudnn.cudnnBatchNormalizationForwardTraining(cudnn, cudnnBatchNormMode.CUDNN_BATCHNORM_SPATIAL, one, zero,
                        xDesc, xd.pointer(), xDesc, yd.pointer(), bnParamDesc(s, xDesc), dev(gamma, "gamma").pointer(),
                        dev(beta, "beta").pointer(), momentum, dev(runningMean, "runningMean").pointer(),
                        dev(runningVar, "runningVar").pointer(), e, dev(saveMean, "saveMean").pointer(),
                        dev(saveInvStd, "saveInvStd").pointer()),
                "cudnnBatchNormalizationForwardTraining", s + " eps " + e + " momentum " + momentum);
        end(op, s);
    }

    @Override
    public void batchNormForwardInference(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor runningMean,
                                          Tensor runningVar, Tensor y) {
        String op = "batchNormForwardInference";
        CudaTensor xd = dev(x, "x"), yd = dev(y, "y");
        BnShape s = bnShape(op, x);
        for (Object[] p : new Object[][] {{gamma, "gamma"}, {beta, "beta"}, {runningMean, "runningMean"},
                {runningVar, "runningVar"}}) {
            checkBnParam(op, s.c(), x, (Tensor) p[0], (String) p[1]);
        }
        sameSize(op, "y", y, "x", x);
        begin(op);
        if (x.size() == 0) {
            return;
        }
        cudnnTensorDescriptor xDesc = tensorDesc(s.n(), s.c(), s.spatial(), 1);
        double e = epsilon(eps);
        dnn(JCudnn.cudnnBatchNormalizationForwardInference(cudnn, cudnnBatchNormMode.CUDNN_BATCHNORM_SPATIAL, one, zero,
                        xDesc, xd.pointer(), xDesc, yd.pointer(), bnParamDesc(s, xDesc), dev(gamma, "gamma").pointer(),
                        dev(beta, "beta").pointer(), dev(runningMean, "runningMean").pointer(),
                        dev(runningVar, "runningVar").pointer(), e),
                "cudnnBatchNormalizationForwardInference", s + " eps " + e);
        end(op, s);
    }

    @Override
    public void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dx,
                                  Tensor dGamma, Tensor dBeta) {
        String op = "batchNormBackward";
        CudaTensor xd = dev(x, "x"), dyd = dev(dy, "dy"), dxd = dev(dx, "dx");
        BnShape s = bnShape(op, x);
        for (Object[] p : new Object[][] {{gamma, "gamma"}, {saveMean, "saveMean"}, {saveInvStd, "saveInvStd"},
                {dGamma, "dGamma"}, {dBeta, "dBeta"}}) {
            checkBnParam(op, s.c(), x, (Tensor) p[0], (String) p[1]);
        }
        sameSize(op, "dy", dy, "x", x);
        sameSize(op, "dx", dx, "x", x);
        noAlias(op, "dx", dxd, "x", xd);
        begin(op);
        if (x.size() == 0) {
            return;
        }
        cudnnTensorDescriptor xDesc = tensorDesc(s.n(), s.c(), s.spatial(), 1);
        // cuDNN uses the saved statistics as given; epsilon must match the forward pass (it is validated)
        double e = bnEps.getOrDefault(((CudaTensor) saveInvStd).storage, 1e-5);
        dnn(JCudnn.cudnnBatchNormalizationBackward(cudnn, cudnnBatchNormMode.CUDNN_BATCHNORM_SPATIAL, one, zero, one, zero,
                        xDesc, xd.pointer(), xDesc, dyd.pointer(), xDesc, dxd.pointer(), bnParamDesc(s, xDesc),
                        dev(gamma, "gamma").pointer(), dev(dGamma, "dGamma").pointer(), dev(dBeta, "dBeta").pointer(), e,
                        dev(saveMean, "saveMean").pointer(), dev(saveInvStd, "saveInvStd").pointer()),
                "cudnnBatchNormalizationBackward", s + " eps " + e);
        end(op, s);
    }

    // ---- losses ------------------------------------------------------------------------------------------------

    @Override
    public void softmax(Tensor scores, Tensor probabilities) {
        CudaTensor sd = dev(scores, "scores"), pd = dev(probabilities, "probabilities");
        if (scores.rank() < 2) {
            throw new IllegalArgumentException("softmax: scores " + Arrays.toString(scores.shape()) + " must be [n, k]");
        }
        sameSize("softmax", "probabilities", probabilities, "scores", scores);
        int n = scores.dim(0), k = scores.itemSize();
        begin("softmax");
        if (scores.size() == 0) {
            return;
        }
        cudnnTensorDescriptor d = tensorDesc(n, k, 1, 1);
        dnn(JCudnn.cudnnSoftmaxForward(cudnn, cudnnSoftmaxAlgorithm.CUDNN_SOFTMAX_ACCURATE,
                cudnnSoftmaxMode.CUDNN_SOFTMAX_MODE_INSTANCE, one, d, sd.pointer(), zero, d, pd.pointer()),
                "cudnnSoftmaxForward", Arrays.toString(scores.shape()));
        end("softmax", scores);
    }

    private static int lossKind(LossKind kind) {
        return switch (kind) {
            case SOFTMAX_CROSS_ENTROPY -> 0;
            case MULTICLASS_HINGE -> 1;
            case LOGISTIC -> 2;
            case MSE -> 3;
        };
    }

    @Override
    public void loss(LossKind kind, Tensor output, Tensor labels, Tensor grad, Tensor stats, int slot) {
        Objects.requireNonNull(kind, "kind");
        CudaTensor od = dev(output, "output"), ld = dev(labels, "labels"), st = dev(stats, "stats");
        CudaTensor gd = grad == null ? null : dev(grad, "grad");
        int n = labels.size();
        if (n == 0 || output.size() % n != 0 || output.dim(0) != n) {
            throw new IllegalArgumentException("loss: output " + Arrays.toString(output.shape()) + " does not match labels "
                    + Arrays.toString(labels.shape()) + " (output must be [n, k] with n = number of labels)");
        }
        int k = output.size() / n;
        if (gd != null) {
            sameSize("loss", "grad", grad, "output", output);
            noAlias("loss", "grad", gd, "labels", ld);
        }
        if (slot < 0 || 2L * slot + 1 >= stats.size()) {
            throw new IllegalArgumentException("loss: slot " + slot + " outside stats " + Arrays.toString(stats.shape()));
        }
        if (kind == LossKind.LOGISTIC && k != 1) {
            throw new IllegalArgumentException("loss: LOGISTIC needs one output per sample, got output "
                    + Arrays.toString(output.shape()));
        }
        begin("loss");
        launchGrid("kiln_loss", 1, lossKind(kind), od, ld, gd, st, n, k, slot, gd != null);
        end("loss", kind);
    }

    // ---- optimizers --------------------------------------------------------------------------------------------

    @Override
    public void sgdUpdate(Tensor w, Tensor g, Tensor velocity, float lr, float momentum, boolean nesterov,
                          float weightDecay) {
        CudaTensor wd = dev(w, "w"), gd = dev(g, "g");
        sameSize("sgdUpdate", "g", g, "w", w);
        CudaTensor vd = null;
        if (momentum != 0f) {
            vd = dev(velocity, "velocity");
            sameSize("sgdUpdate", "velocity", velocity, "w", w);
        }
        begin("sgdUpdate");
        launch("kiln_sgd", w.size(), wd, gd, vd, lr, momentum, weightDecay, vd == null ? 0 : nesterov ? 2 : 1, w.size());
        end("sgdUpdate", w);
    }

    @Override
    public void rmspropUpdate(Tensor w, Tensor g, Tensor squareAvg, float lr, float alpha, float eps, float weightDecay) {
        CudaTensor wd = dev(w, "w"), gd = dev(g, "g"), sd = dev(squareAvg, "squareAvg");
        sameSize("rmspropUpdate", "g", g, "w", w);
        sameSize("rmspropUpdate", "squareAvg", squareAvg, "w", w);
        begin("rmspropUpdate");
        launch("kiln_rmsprop", w.size(), wd, gd, sd, lr, alpha, eps, weightDecay, w.size());
        end("rmspropUpdate", w);
    }

    @Override
    public void adamUpdate(Tensor w, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                           float weightDecay, long step) {
        CudaTensor wd = dev(w, "w"), gd = dev(g, "g"), md = dev(m, "m"), vd = dev(v, "v");
        sameSize("adamUpdate", "g", g, "w", w);
        sameSize("adamUpdate", "m", m, "w", w);
        sameSize("adamUpdate", "v", v, "w", w);
        if (step < 1) {
            throw new IllegalArgumentException("adamUpdate: step is 1-based, got " + step);
        }
        float c1 = (float) (1.0 - Math.pow(beta1, step));
        float c2 = (float) (1.0 - Math.pow(beta2, step));
        begin("adamUpdate");
        launch("kiln_adam", w.size(), wd, gd, md, vd, lr, beta1, beta2, eps, weightDecay, c1, c2, w.size());
        end("adamUpdate", w);
    }

    // ---- shutdown ----------------------------------------------------------------------------------------------

    @Override
    public void close() {
        if (closed) {
            return;
        }
        try {
            if (poisoned == null && stream != null) {
                JCudaDriver.cuCtxSetCurrent(context);
                JCudaDriver.cuStreamSynchronize(stream);
            }
        } finally {
            closeQuietly();
        }
    }

    private void closeQuietly() {
        closed = true;
        if (!retained) {
            return;
        }
        try {
            JCudaDriver.cuCtxSetCurrent(context);
            for (ConvPlan p : convPlans.values()) {
                p.destroy();
            }
            convPlans.clear();
            for (cudnnTensorDescriptor d : tensorDescs.values()) {
                JCudnn.cudnnDestroyTensorDescriptor(d);
            }
            tensorDescs.clear();
            for (cudnnTensorDescriptor d : bnParamDescs.values()) {
                JCudnn.cudnnDestroyTensorDescriptor(d);
            }
            bnParamDescs.clear();
            if (cudnn != null) {
                JCudnn.cudnnDestroy(cudnn);
                cudnn = null;
            }
            if (cublas != null) {
                JCublas2.cublasDestroy(cublas);
                cublas = null;
            }
            if (workspace != null) {
                JCudaDriver.cuMemFree(workspace);
                workspace = null;
            }
            staging.free();
            if (allocator != null) {
                allocator.freeAll();
            }
            if (module != null) {
                JCudaDriver.cuModuleUnload(module);
                module = null;
            }
            if (stream != null) {
                JCudaDriver.cuStreamDestroy(stream);
                stream = null;
            }
        } catch (Throwable ignored) {
            // best effort: the context may be unusable
        } finally {
            if (retained) {
                retained = false;
                JCudaDriver.cuDevicePrimaryCtxRelease(device);
            }
        }
    }
}
