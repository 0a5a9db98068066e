package io.kiln.engine.backend.cuda;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.ArgumentChecks;
import io.kiln.engine.backend.ArgumentChecks.Channels;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.ConvGeometry;
import io.kiln.engine.backend.LossKind;
import io.kiln.engine.backend.PoolGeometry;
import io.kiln.engine.backend.PoolMode;
import io.kiln.engine.backend.Precision;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.JCudaDriver;
import jcuda.jcudnn.JCudnn;

/**
 * The CUDA backend: JCuda's driver API for the context, one stream, memory and Kiln's own kernels (PTX from
 * the kiln-cuda-kernels jar, loaded with cuModuleLoadData); cuBLAS SGEMM for matrix products; cuDNN for
 * convolutions (algorithm found once per shape with cudnnFind*AlgorithmEx, workspace shared), batch
 * normalisation and softmax. Everything is queued on the backend's stream; {@link #download} and
 * {@link #synchronize} wait for it. See {@code docs/cuda.md}.
 *
 * <p>This class checks each operation's arguments, passes it through its {@link OperationGate} (own tensors,
 * usable backend, kiln.cuda.sync), queues the small ones (memory, GEMM, bias, pooling, pointwise) itself and
 * hands the others to their family: {@link CudnnConvolution}, {@link CudnnBatchNorm},
 * {@link CudaLosses}, {@link CudaOptimizers}, {@link CudaSequences}. The rooms below it: {@link CudaContext} (context, stream,
 * module, library handles), {@link CudaChecks} (statuses to exceptions, poisoning), {@link KernelLauncher},
 * {@link HostStaging}, {@link ConvolutionPlans} and {@link CudnnWorkspace}.
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
    /** Device memory held by the backend's allocator. */
    public record MemoryStats(long inUseBytes, long cachedBytes, long peakInUseBytes, long deviceAllocations,
                              long cacheHits) {
    }

    private final ArgumentChecks check = new ArgumentChecks(t -> ((CudaTensor) t).storage);
    private final int ordinal;
    private final CudaDevices.Gpu gpu;
    private final Precision precision;
    private final List<NativeLibraries.Loaded> libraries;
    private final CudaChecks checks;
    private final CudaContext context;
    private final OperationGate gate;
    private final DeviceAllocator<CUdeviceptr> allocator;
    private final KernelLauncher kernels;
    private final CublasGemm gemm;
    private final CudaPointwise pointwise;
    private final HostStaging staging;
    private final TensorDescriptors descriptors;
    private final CudnnWorkspace workspace;
    private final ConvolutionPlans convPlans;
    private final CudnnConvolution convolution;
    private final CudnnBatchNorm batchNorm;
    private final CudaLosses losses;
    private final CudaOptimizers optimizers;
    private final CudaSequences sequences;

    private CudaBackend(int ordinal, CudaDevices.Gpu gpu, Precision precision, List<NativeLibraries.Loaded> libraries) {
        this.ordinal = ordinal;
        this.gpu = gpu;
        this.precision = precision;
        this.libraries = libraries;
        // nothing below touches the device: create() opens the context once the backend is built
        this.checks = new CudaChecks(name());
        this.context = new CudaContext(ordinal, gpu, checks);
        this.gate = new OperationGate(this, checks, context);
        this.allocator = new DeviceAllocator<>(new DeviceMemory(context, checks));
        checks.freeCachedMemoryWith(allocator::emptyCache);
        this.kernels = new KernelLauncher(context, checks, gpu);
        this.gemm = new CublasGemm(context, checks, kernels);
        this.pointwise = new CudaPointwise(kernels, allocator);
        this.staging = new HostStaging(context, checks);
        this.descriptors = new TensorDescriptors(checks);
        this.workspace = new CudnnWorkspace(context, checks, allocator, name());
        this.convPlans = new ConvolutionPlans(checks, descriptors, precision);
        this.convolution = new CudnnConvolution(context, checks, convPlans, workspace);
        this.batchNorm = new CudnnBatchNorm(context, checks, descriptors);
        this.losses = new CudaLosses(context, checks, descriptors, kernels, allocator);
        this.optimizers = new CudaOptimizers(kernels);
        this.sequences = new CudaSequences(kernels);
    }

    /**
     * A backend on device {@code ordinal}. Throws {@link CudaUnavailableException} naming what is missing (see
     * {@link CudaDevices#usable}; no cuBLAS/cuDNN; a GPU the libraries have no kernels for, {@link CapabilityGuard}), or {@link CudaException} when the device exists but could
     * not be set up.
     */
    public static CudaBackend create(int ordinal, Precision precision) {
        Objects.requireNonNull(precision, "precision");
        CudaDevices.Gpu gpu = CudaDevices.usable(ordinal);
        List<NativeLibraries.Loaded> libs = NativeLibraries.prepareLibraries();
        String refusal = CapabilityGuard.refusal(ordinal, gpu, libs);
        if (refusal != null) {
            throw new CudaUnavailableException(refusal);
        }
        CudaBackend b = new CudaBackend(ordinal, gpu, precision, libs);
        try {
            b.context.open();
            b.context.loadModule();
            b.context.createLibraries(precision);
        } catch (RuntimeException | Error e) {
            b.closeQuietly();
            throw e;
        }
        return b;
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
        gate.begin("emptyCache");
        allocator.emptyCache();
    }

    private CudaTensor dev(Tensor t, String what) {
        return gate.dev(t, what);
    }

    // ---- memory ------------------------------------------------------------------------------------------------

    @Override
    public CudaTensor allocate(int... shape) {
        int size = Tensor.sizeOf(shape);
        gate.begin("allocate");
        DeviceAllocator.Block<CUdeviceptr> block = allocator.allocate(Math.max(1L, size) * Float.BYTES,
                "a tensor of shape " + Arrays.toString(shape));
        CudaTensor t = new CudaTensor(new CudaTensor.Storage(this, block), shape, true);
        if (size > 0) {
            checks.cu(JCudaDriver.cuMemsetD32Async(t.pointer(), 0, size, context.stream()), "cuMemsetD32Async",
                    Arrays.toString(shape));
        }
        return t;
    }

    void release(CudaTensor.Storage s) {
        if (!gate.closed()) {
            allocator.release(s.block);
        }
    }

    @Override
    public void upload(float[] src, Tensor dst) {
        CudaTensor d = dev(dst, "dst");
        ArgumentChecks.upload(src, dst);
        gate.queue("upload", d, () -> staging.upload(src, d.pointer()));
    }

    @Override
    public void download(Tensor src, float[] dst) {
        CudaTensor s = dev(src, "src");
        ArgumentChecks.download(src, dst);
        gate.begin("download");
        staging.download(s.pointer(), dst);
    }

    @Override
    public void fill(Tensor t, float value) {
        CudaTensor c = dev(t, "t");
        gate.begin("fill");
        if (c.size() > 0) {
            checks.cu(JCudaDriver.cuMemsetD32Async(c.pointer(), Float.floatToRawIntBits(value), c.size(), context.stream()),
                    "cuMemsetD32Async", "fill " + c);
        }
        gate.end("fill", c);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        CudaTensor s = dev(src, "src"), d = dev(dst, "dst");
        ArgumentChecks.sameSize("copy", "src", src, "dst", dst);
        gate.begin("copy");
        if (s.storage != d.storage && s.size() > 0) {
            checks.cu(JCudaDriver.cuMemcpyDtoDAsync(d.pointer(), s.pointer(), (long) s.size() * Float.BYTES,
                    context.stream()), "cuMemcpyDtoDAsync", s + " -> " + d);
        }
        gate.end("copy", d);
    }

    @Override
    public void synchronize() {
        gate.begin("synchronize");
        checks.cu(JCudaDriver.cuStreamSynchronize(context.stream()), "cuStreamSynchronize", "");
    }

    // ---- matrix products ---------------------------------------------------------------------------------------

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta,
                     Tensor c) {
        CudaTensor ad = dev(a, "A"), bd = dev(b, "B"), cd = dev(c, "C");
        check.gemm(transA, transB, m, n, k, a, b, c);
        gate.begin("gemm");
        if (gemm.gemm(transA, transB, m, n, k, alpha, ad, bd, beta, cd)) {
            gate.end("gemm", c);
        }
    }

    // ---- convolution -------------------------------------------------------------------------------------------

    @Override
    public void conv2dForward(ConvGeometry g, Tensor x, Tensor w, Tensor y) {
        CudaTensor xd = dev(x, "x"), wd = dev(w, "w"), yd = dev(y, "y");
        check.conv2dForward(g, x, w, y);
        gate.queue("conv2dForward", g, () -> convolution.forward(g, xd, wd, yd));
    }

    @Override
    public void conv2dBackwardData(ConvGeometry g, Tensor w, Tensor dy, Tensor dx) {
        CudaTensor wd = dev(w, "w"), dyd = dev(dy, "dy"), dxd = dev(dx, "dx");
        check.conv2dBackwardData(g, w, dy, dx);
        gate.queue("conv2dBackwardData", g, () -> convolution.backwardData(g, wd, dyd, dxd));
    }

    @Override
    public void conv2dBackwardFilter(ConvGeometry g, Tensor x, Tensor dy, Tensor dw) {
        CudaTensor xd = dev(x, "x"), dyd = dev(dy, "dy"), dwd = dev(dw, "dw");
        check.conv2dBackwardFilter(g, x, dy, dw);
        gate.queue("conv2dBackwardFilter", g, () -> convolution.backwardFilter(g, xd, dyd, dwd));
    }

    // ---- bias and pooling --------------------------------------------------------------------------------------

    @Override
    public void addBias(Tensor y, Tensor bias) {
        CudaTensor yd = dev(y, "y"), bd = dev(bias, "bias");
        Channels s = check.addBias(y, bias);
        gate.queue("addBias", y, () -> pointwise.addBias(s, yd, bd));
    }

    @Override
    public void biasBackward(Tensor dy, Tensor db) {
        CudaTensor dyd = dev(dy, "dy"), dbd = dev(db, "db");
        Channels s = check.biasBackward(dy, db);
        gate.queue("biasBackward", dy, () -> pointwise.biasBackward(s, dyd, dbd));
    }

    @Override
    public void poolForward(PoolMode mode, PoolGeometry g, Tensor x, Tensor y) {
        CudaTensor xd = dev(x, "x"), yd = dev(y, "y");
        check.poolForward(mode, g, x, y);
        gate.queue("poolForward", g, () -> pointwise.poolForward(mode, g, xd, yd));
    }

    @Override
    public void poolBackward(PoolMode mode, PoolGeometry g, Tensor x, Tensor y, Tensor dy, Tensor dx) {
        CudaTensor xd = dev(x, "x"), dyd = dev(dy, "dy"), dxd = dev(dx, "dx");
        dev(y, "y");
        check.poolBackward(mode, g, x, y, dy, dx);
        gate.queue("poolBackward", g, () -> pointwise.poolBackward(mode, g, xd, dyd, dxd));
    }

    // ---- pointwise ---------------------------------------------------------------------------------------------

    @Override
    public void activationForward(Activation f, Tensor x, Tensor y) {
        CudaTensor xd = dev(x, "x"), yd = dev(y, "y");
        ArgumentChecks.activationForward(f, x, y);
        gate.queue("activationForward", f, () -> pointwise.activationForward(f, xd, yd));
    }

    @Override
    public void activationBackward(Activation f, Tensor y, Tensor dy, Tensor dx) {
        CudaTensor yd = dev(y, "y"), dyd = dev(dy, "dy"), dxd = dev(dx, "dx");
        ArgumentChecks.activationBackward(f, y, dy, dx);
        gate.queue("activationBackward", f, () -> pointwise.activationBackward(f, yd, dyd, dxd));
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        elementwise("add", "kiln_add", a, b, out);
    }

    @Override
    public void multiply(Tensor a, Tensor b, Tensor out) {
        elementwise("multiply", "kiln_multiply", a, b, out);
    }

    private void elementwise(String op, String kernel, Tensor a, Tensor b, Tensor out) {
        CudaTensor ad = dev(a, "a"), bd = dev(b, "b"), od = dev(out, "out");
        ArgumentChecks.elementwise(op, a, b, out);
        gate.queue(op, a, () -> pointwise.elementwise(kernel, ad, bd, od));
    }

    @Override
    public void axpy(float alpha, Tensor x, Tensor y) {
        CudaTensor xd = dev(x, "x"), yd = dev(y, "y");
        ArgumentChecks.sameSize("axpy", "x", x, "y", y);
        gate.queue("axpy", y, () -> pointwise.axpy(alpha, xd, yd));
    }

    @Override
    public void scale(Tensor x, float alpha) {
        CudaTensor xd = dev(x, "x");
        gate.queue("scale", x, () -> pointwise.scale(xd, alpha));
    }

    @Override
    public void dropoutForward(Tensor x, float p, long seed, Tensor mask, Tensor y) {
        CudaTensor xd = dev(x, "x"), md = dev(mask, "mask"), yd = dev(y, "y");
        check.dropoutForward(x, p, mask, y);
        gate.queue("dropoutForward", x, () -> pointwise.dropout(xd, p, seed, md, yd));
    }

    // ---- batch normalisation -----------------------------------------------------------------------------------

    @Override
    public void batchNormForwardTraining(Tensor x, Tensor gamma, Tensor beta, float eps, float momentum,
                                         Tensor runningMean, Tensor runningVar, Tensor saveMean, Tensor saveInvStd,
                                         Tensor y) {
        CudaTensor xd = dev(x, "x"), yd = dev(y, "y"), gd = dev(gamma, "gamma"), bd = dev(beta, "beta");
        CudaTensor rm = dev(runningMean, "runningMean"), rv = dev(runningVar, "runningVar");
        CudaTensor sm = dev(saveMean, "saveMean"), si = dev(saveInvStd, "saveInvStd");
        Channels s = ArgumentChecks.batchNormForwardTraining(x, gamma, beta, runningMean, runningVar, saveMean,
                saveInvStd, y);
        gate.queueUnlessEmpty("batchNormForwardTraining", s, x.size(),
                () -> batchNorm.forwardTraining(s, xd, gd, bd, eps, momentum, rm, rv, sm, si, yd));
    }

    @Override
    public void batchNormForwardInference(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor runningMean,
                                          Tensor runningVar, Tensor y) {
        CudaTensor xd = dev(x, "x"), yd = dev(y, "y"), gd = dev(gamma, "gamma"), bd = dev(beta, "beta");
        CudaTensor rm = dev(runningMean, "runningMean"), rv = dev(runningVar, "runningVar");
        Channels s = ArgumentChecks.batchNormForwardInference(x, gamma, beta, runningMean, runningVar, y);
        gate.queueUnlessEmpty("batchNormForwardInference", s, x.size(),
                () -> batchNorm.forwardInference(s, xd, gd, bd, eps, rm, rv, yd));
    }

    @Override
    public void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dx,
                                  Tensor dGamma, Tensor dBeta) {
        CudaTensor xd = dev(x, "x"), dyd = dev(dy, "dy"), dxd = dev(dx, "dx"), gd = dev(gamma, "gamma");
        CudaTensor sm = dev(saveMean, "saveMean"), si = dev(saveInvStd, "saveInvStd");
        CudaTensor dgd = dev(dGamma, "dGamma"), dbd = dev(dBeta, "dBeta");
        Channels s = check.batchNormBackward(x, dy, gamma, saveMean, saveInvStd, dx, dGamma, dBeta);
        gate.queueUnlessEmpty("batchNormBackward", s, x.size(),
                () -> batchNorm.backward(s, xd, dyd, gd, sm, si, dxd, dgd, dbd));
    }

    // ---- losses ------------------------------------------------------------------------------------------------

    @Override
    public void softmax(Tensor scores, Tensor probabilities) {
        CudaTensor sd = dev(scores, "scores"), pd = dev(probabilities, "probabilities");
        ArgumentChecks.softmax(scores, probabilities);
        gate.queueUnlessEmpty("softmax", scores, scores.size(),
                () -> losses.softmax(scores.dim(0), scores.itemSize(), sd, pd));
    }

    @Override
    public void loss(LossKind kind, Tensor output, Tensor labels, Tensor grad, Tensor stats, int slot) {
        CudaTensor od = dev(output, "output"), ld = dev(labels, "labels"), st = dev(stats, "stats");
        CudaTensor gd = grad == null ? null : dev(grad, "grad");
        int k = check.loss(kind, output, labels, grad, stats, slot);
        gate.queue("loss", kind, () -> losses.loss(kind, labels.size(), k, od, ld, gd, st, slot));
    }

    // ---- sequences ------------------------------------------------------------------------------------------

    @Override
    public void embeddingForward(Tensor table, Tensor indices, Tensor out) {
        CudaTensor td = dev(table, "table"), id = dev(indices, "indices"), od = dev(out, "out");
        int d = check.embeddingForward(table, indices, out);
        gate.queue("embeddingForward", table, () -> sequences.embeddingForward(td, d, id, od));
    }

    @Override
    public void embeddingBackward(Tensor dOut, Tensor indices, Tensor dTable) {
        CudaTensor dd = dev(dOut, "dOut"), id = dev(indices, "indices"), td = dev(dTable, "dTable");
        int d = check.embeddingBackward(dOut, indices, dTable);
        gate.queue("embeddingBackward", dTable, () -> sequences.embeddingBackward(dd, d, id, td));
    }

    @Override
    public void lstmCellForward(Tensor a, Tensor cPrev, Tensor gates, Tensor c, Tensor h) {
        CudaTensor ad = dev(a, "a"), cp = dev(cPrev, "cPrev"), gd = dev(gates, "gates"), cd = dev(c, "c"), hd = dev(h, "h");
        Channels s = check.lstmCellForward(a, cPrev, gates, c, h);
        gate.queue("lstmCellForward", a, () -> sequences.lstmCellForward(s, ad, cp, gd, cd, hd));
    }

    @Override
    public void lstmCellBackward(Tensor gates, Tensor cPrev, Tensor c, Tensor dh, Tensor dc, Tensor da, Tensor dcPrev) {
        CudaTensor gd = dev(gates, "gates"), cp = dev(cPrev, "cPrev"), cd = dev(c, "c"), dhd = dev(dh, "dh");
        CudaTensor dcd = dc == null ? null : dev(dc, "dc"), dad = dev(da, "da"), dcp = dev(dcPrev, "dcPrev");
        Channels s = check.lstmCellBackward(gates, cPrev, c, dh, dc, da, dcPrev);
        gate.queue("lstmCellBackward", gates, () -> sequences.lstmCellBackward(s, gd, cp, cd, dhd, dcd, dad, dcp));
    }

    @Override
    public void argmax(Tensor scores, Tensor indices) {
        CudaTensor sd = dev(scores, "scores"), id = dev(indices, "indices");
        int k = check.argmax(scores, indices);
        gate.queue("argmax", scores, () -> sequences.argmax(indices.size(), k, sd, id));
    }

    // ---- optimizers --------------------------------------------------------------------------------------------

    @Override
    public void sgdUpdate(Tensor w, Tensor g, Tensor velocity, float lr, float momentum, boolean nesterov,
                          float weightDecay) {
        CudaTensor wd = dev(w, "w"), gd = dev(g, "g");
        CudaTensor vd = momentum != 0f ? dev(velocity, "velocity") : null; // without momentum v is not used
        ArgumentChecks.sgdUpdate(w, g, velocity, momentum);
        gate.queue("sgdUpdate", w, () -> optimizers.sgd(wd, gd, vd, lr, momentum, nesterov, weightDecay));
    }

    @Override
    public void rmspropUpdate(Tensor w, Tensor g, Tensor squareAvg, float lr, float alpha, float eps, float weightDecay) {
        CudaTensor wd = dev(w, "w"), gd = dev(g, "g"), sd = dev(squareAvg, "squareAvg");
        ArgumentChecks.rmspropUpdate(w, g, squareAvg);
        gate.queue("rmspropUpdate", w, () -> optimizers.rmsprop(wd, gd, sd, lr, alpha, eps, weightDecay));
    }

    @Override
    public void adamUpdate(Tensor w, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                           float weightDecay, long step) {
        CudaTensor wd = dev(w, "w"), gd = dev(g, "g"), md = dev(m, "m"), vd = dev(v, "v");
        ArgumentChecks.adamUpdate(w, g, m, v, step);
        float c1 = (float) (1.0 - Math.pow(beta1, step));
        float c2 = (float) (1.0 - Math.pow(beta2, step));
        gate.queue("adamUpdate", w, () -> optimizers.adam(wd, gd, md, vd, lr, beta1, beta2, eps, weightDecay, c1, c2));
    }

    // ---- shutdown ----------------------------------------------------------------------------------------------

    @Override
    public void close() {
        if (gate.closed()) {
            return;
        }
        try {
            if (checks.poisoned() == null) {
                context.synchronizeQuietly();
            }
        } finally {
            closeQuietly();
        }
    }

    private void closeQuietly() {
        gate.close();
        if (!context.retained()) {
            return;
        }
        context.close(() -> {
            convPlans.destroy();
            descriptors.destroy();
            batchNorm.destroy();
            workspace.free();
            staging.free();
            allocator.freeAll();
        });
    }
}
