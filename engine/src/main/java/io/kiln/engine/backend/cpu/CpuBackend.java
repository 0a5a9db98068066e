package io.kiln.engine.backend.cpu;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.ArgumentChecks;
import io.kiln.engine.backend.ArgumentChecks.Channels;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.ConvGeometry;
import io.kiln.engine.backend.LossKind;
import io.kiln.engine.backend.PoolGeometry;
import io.kiln.engine.backend.PoolMode;
import io.kiln.engine.tensor.Tensor;

import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;

/**
 * The reference backend: plain Java over {@code float[]}, every operation synchronous, parallelised over
 * a private {@link ForkJoinPool} when the work is large enough to pay for it ({@link ParallelLoops}).
 * Matrix products use the blocked, packed kernel of {@link Gemm} ({@link ParallelGemm} splits them over the
 * threads); convolutions are im2col (or col2im) plus that kernel, one image per task
 * ({@link CpuConvolution}). This class checks the arguments and hands each operation to its family:
 * {@link CpuPointwise}, {@link Pooling}, {@link CpuBatchNorm}, {@link CpuLosses}, {@link CpuOptimizers},
 * {@link CpuSequences}.
 * See {@code docs/cpu-backend.md}.
 *
 * <p>It accepts only {@link CpuTensor}s (from any {@code CpuBackend}: they are plain host arrays) and
 * rejects closed ones. It may be used from several threads at once as long as they do not write the same
 * tensors. After {@link #close} it keeps working, on the calling thread only.
 */
public final class CpuBackend implements Backend {
    private static final ArgumentChecks CHECK = new ArgumentChecks(t -> ((CpuTensor) t).data());

    private final ParallelLoops loops;
    private final ParallelGemm gemm;
    private final CpuConvolution convolution;
    private final CpuPointwise pointwise;
    private final CpuBatchNorm batchNorm;
    private final CpuLosses losses;
    private final CpuOptimizers optimizers;
    private final CpuSequences sequences;

    /** A backend using every available core. */
    public CpuBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    /** A backend using {@code threads} threads (the calling thread counts as one). */
    public CpuBackend(int threads) {
        this(threads, Gemm.DEFAULT_KERNEL);
    }

    /** A backend with a given GEMM micro-kernel (for tests and benchmarks). */
    CpuBackend(int threads, Gemm.Kernel kernel) {
        this(threads, kernel, VectorSupport.enabled(), true);
    }

    /**
     * A backend that uses {@link VectorConvolution} where it can if {@code vector} (only when {@link
     * VectorSupport#enabled}), else the matrix-product path, and {@link OneDnnConvolution} for the layers it
     * suits if {@code onednn} (and its natives load) (for tests and benchmarks).
     */
    CpuBackend(int threads, Gemm.Kernel kernel, boolean vector, boolean onednn) {
        Objects.requireNonNull(kernel, "kernel");
        this.loops = new ParallelLoops(threads);
        this.gemm = new ParallelGemm(loops, kernel);
        this.convolution = new CpuConvolution(loops, gemm, vector && VectorSupport.enabled(),
                onednn ? new OneDnnConvolution() : null);
        this.pointwise = new CpuPointwise(loops);
        this.batchNorm = new CpuBatchNorm(loops);
        this.losses = new CpuLosses(loops);
        this.optimizers = new CpuOptimizers(loops);
        this.sequences = new CpuSequences(loops);
    }

    public int threads() {
        return loops.threads();
    }

    /**
     * How convolutions run: directly on the Vector API, or as matrix products and why; and whether layers with
     * many channels run on oneDNN (this loads its natives).
     */
    public String convolutionPath() {
        String java = convolution.vector() || !VectorSupport.enabled() ? VectorSupport.describe()
                : "convolutions as matrix products";
        return convolution.onednn() == null ? java : java + "; " + OneDnnConvolution.describe();
    }

    @Override
    public String name() {
        int threads = loops.threads();
        return "cpu (" + threads + (threads == 1 ? " thread)" : " threads)");
    }

    /** Convolution geometries planned on oneDNN so far (for tests). */
    int oneDnnPlans() {
        return convolution.onednn() == null ? 0 : convolution.onednn().plansKept();
    }

    Gemm.Kernel kernel() {
        return gemm.kernel();
    }

    @Override
    public void close() {
        loops.close();
        if (convolution.onednn() != null) {
            convolution.onednn().close();
        }
    }

    // ---- the tensors this backend takes ---------------------------------------------------------------

    private static CpuTensor cpu(Tensor t, String what) {
        Objects.requireNonNull(t, what);
        if (!(t instanceof CpuTensor c)) {
            throw new IllegalArgumentException(what + " " + t + " belongs to another backend; the CPU backend takes only CpuTensor");
        }
        if (c.isClosed()) {
            throw new IllegalStateException(what + " " + t + " is closed");
        }
        return c;
    }

    private static float[] data(Tensor t, String what) {
        return cpu(t, what).data();
    }

    // ---- memory ---------------------------------------------------------------------------------------

    @Override
    public CpuTensor allocate(int... shape) {
        return new CpuTensor(shape);
    }

    @Override
    public void upload(float[] src, Tensor dst) {
        float[] d = data(dst, "dst");
        ArgumentChecks.upload(src, dst);
        System.arraycopy(src, 0, d, 0, d.length);
    }

    @Override
    public void download(Tensor src, float[] dst) {
        float[] s = data(src, "src");
        ArgumentChecks.download(src, dst);
        System.arraycopy(s, 0, dst, 0, s.length);
    }

    @Override
    public void fill(Tensor t, float value) {
        Arrays.fill(data(t, "t"), value);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        float[] s = data(src, "src"), d = data(dst, "dst");
        ArgumentChecks.sameSize("copy", "src", src, "dst", dst);
        System.arraycopy(s, 0, d, 0, s.length);
    }

    @Override
    public void synchronize() {
        // every operation is synchronous
    }

    // ---- matrix products and convolution --------------------------------------------------------------

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, Tensor b,
                     float beta, Tensor c) {
        float[] ad = data(a, "A"), bd = data(b, "B"), cd = data(c, "C");
        CHECK.gemm(transA, transB, m, n, k, a, b, c);
        gemm.gemm(transA, transB, m, n, k, alpha, ad, 0, bd, 0, beta, cd, 0, true);
    }

    @Override
    public void conv2dForward(ConvGeometry g, Tensor x, Tensor w, Tensor y) {
        float[] xd = data(x, "x"), wd = data(w, "w"), yd = data(y, "y");
        CHECK.conv2dForward(g, x, w, y);
        convolution.forward(g, xd, wd, yd);
    }

    @Override
    public void conv2dBackwardData(ConvGeometry g, Tensor w, Tensor dy, Tensor dx) {
        float[] wd = data(w, "w"), dyd = data(dy, "dy"), dxd = data(dx, "dx");
        CHECK.conv2dBackwardData(g, w, dy, dx);
        convolution.backwardData(g, wd, dyd, dxd);
    }

    @Override
    public void conv2dBackwardFilter(ConvGeometry g, Tensor x, Tensor dy, Tensor dw) {
        float[] xd = data(x, "x"), dyd = data(dy, "dy"), dwd = data(dw, "dw");
        CHECK.conv2dBackwardFilter(g, x, dy, dw);
        convolution.backwardFilter(g, xd, dyd, dwd);
    }

    // ---- bias and pooling -----------------------------------------------------------------------------

    @Override
    public void addBias(Tensor y, Tensor bias) {
        float[] yd = data(y, "y"), bd = data(bias, "bias");
        pointwise.addBias(CHECK.addBias(y, bias), yd, bd);
    }

    @Override
    public void biasBackward(Tensor dy, Tensor db) {
        float[] dyd = data(dy, "dy"), dbd = data(db, "db");
        pointwise.biasBackward(CHECK.biasBackward(dy, db), dyd, dbd);
    }

    @Override
    public void poolForward(PoolMode mode, PoolGeometry g, Tensor x, Tensor y) {
        float[] xd = data(x, "x"), yd = data(y, "y");
        CHECK.poolForward(mode, g, x, y);
        eachPlane(g, pl -> Pooling.forward(mode, g, xd, pl * g.h() * g.w(), yd, pl * g.outH() * g.outW()));
    }

    @Override
    public void poolBackward(PoolMode mode, PoolGeometry g, Tensor x, Tensor y, Tensor dy, Tensor dx) {
        float[] xd = data(x, "x"), dyd = data(dy, "dy"), dxd = data(dx, "dx");
        data(y, "y");
        CHECK.poolBackward(mode, g, x, y, dy, dx);
        eachPlane(g, pl -> Pooling.backward(mode, g, xd, pl * g.h() * g.w(), dyd, pl * g.outH() * g.outW(), dxd));
    }

    /** Runs plane(p) for the n * c planes of a pooling, in parallel when the windows add up to enough work. */
    private void eachPlane(PoolGeometry g, IntConsumer plane) {
        int planes = g.n() * g.c();
        long work = (long) planes * g.outH() * g.outW() * g.windowH() * g.windowW();
        loops.parallel(planes, work, (ci, from, to) -> {
            for (int pl = from; pl < to; pl++) {
                plane.accept(pl);
            }
        });
    }

    // ---- pointwise ------------------------------------------------------------------------------------

    @Override
    public void activationForward(Activation f, Tensor x, Tensor y) {
        float[] xd = data(x, "x"), yd = data(y, "y");
        ArgumentChecks.activationForward(f, x, y);
        pointwise.activationForward(f, xd, yd);
    }

    @Override
    public void activationBackward(Activation f, Tensor y, Tensor dy, Tensor dx) {
        float[] yd = data(y, "y"), dyd = data(dy, "dy"), dxd = data(dx, "dx");
        ArgumentChecks.activationBackward(f, y, dy, dx);
        pointwise.activationBackward(f, yd, dyd, dxd);
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        float[] ad = data(a, "a"), bd = data(b, "b"), od = data(out, "out");
        ArgumentChecks.elementwise("add", a, b, out);
        pointwise.add(ad, bd, od);
    }

    @Override
    public void multiply(Tensor a, Tensor b, Tensor out) {
        float[] ad = data(a, "a"), bd = data(b, "b"), od = data(out, "out");
        ArgumentChecks.elementwise("multiply", a, b, out);
        pointwise.multiply(ad, bd, od);
    }

    @Override
    public void axpy(float alpha, Tensor x, Tensor y) {
        float[] xd = data(x, "x"), yd = data(y, "y");
        ArgumentChecks.sameSize("axpy", "x", x, "y", y);
        pointwise.axpy(alpha, xd, yd);
    }

    @Override
    public void scale(Tensor x, float alpha) {
        pointwise.scale(data(x, "x"), alpha);
    }

    @Override
    public void dropoutForward(Tensor x, float p, long seed, Tensor mask, Tensor y) {
        float[] xd = data(x, "x"), md = data(mask, "mask"), yd = data(y, "y");
        CHECK.dropoutForward(x, p, mask, y);
        pointwise.dropout(xd, p, seed, md, yd);
    }

    // ---- batch normalisation --------------------------------------------------------------------------

    @Override
    public void batchNormForwardTraining(Tensor x, Tensor gamma, Tensor beta, float eps, float momentum,
                                         Tensor runningMean, Tensor runningVar, Tensor saveMean,
                                         Tensor saveInvStd, Tensor y) {
        float[] xd = data(x, "x"), yd = data(y, "y");
        float[] gd = data(gamma, "gamma"), bd = data(beta, "beta"), rm = data(runningMean, "runningMean"),
                rv = data(runningVar, "runningVar"), sm = data(saveMean, "saveMean"), si = data(saveInvStd, "saveInvStd");
        Channels s = ArgumentChecks.batchNormForwardTraining(x, gamma, beta, runningMean, runningVar, saveMean,
                saveInvStd, y);
        batchNorm.forwardTraining(s, xd, gd, bd, eps, momentum, rm, rv, sm, si, yd);
    }

    @Override
    public void batchNormForwardInference(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor runningMean,
                                          Tensor runningVar, Tensor y) {
        float[] xd = data(x, "x"), yd = data(y, "y");
        float[] gd = data(gamma, "gamma"), bd = data(beta, "beta"), rm = data(runningMean, "runningMean"),
                rv = data(runningVar, "runningVar");
        Channels s = ArgumentChecks.batchNormForwardInference(x, gamma, beta, runningMean, runningVar, y);
        batchNorm.forwardInference(s, xd, gd, bd, eps, rm, rv, yd);
    }

    @Override
    public void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                  Tensor dx, Tensor dGamma, Tensor dBeta) {
        float[] xd = data(x, "x"), dyd = data(dy, "dy"), dxd = data(dx, "dx");
        float[] gd = data(gamma, "gamma"), sm = data(saveMean, "saveMean"), si = data(saveInvStd, "saveInvStd"),
                dgd = data(dGamma, "dGamma"), dbd = data(dBeta, "dBeta");
        Channels s = CHECK.batchNormBackward(x, dy, gamma, saveMean, saveInvStd, dx, dGamma, dBeta);
        batchNorm.backward(s, xd, dyd, gd, sm, si, dxd, dgd, dbd);
    }

    // ---- losses ---------------------------------------------------------------------------------------

    @Override
    public void softmax(Tensor scores, Tensor probabilities) {
        float[] sd = data(scores, "scores"), pd = data(probabilities, "probabilities");
        ArgumentChecks.softmax(scores, probabilities);
        losses.softmax(scores.dim(0), scores.itemSize(), sd, pd);
    }

    @Override
    public void loss(LossKind kind, Tensor output, Tensor labels, Tensor grad, Tensor stats, int slot) {
        float[] od = data(output, "output"), ld = data(labels, "labels"), st = data(stats, "stats");
        float[] gd = grad == null ? null : data(grad, "grad");
        int k = CHECK.loss(kind, output, labels, grad, stats, slot);
        losses.loss(kind, labels.size(), k, od, ld, gd, st, slot);
    }

    // ---- sequences --------------------------------------------------------------------------------------

    @Override
    public void embeddingForward(Tensor table, Tensor indices, Tensor out) {
        float[] td = data(table, "table"), id = data(indices, "indices"), od = data(out, "out");
        int d = CHECK.embeddingForward(table, indices, out);
        sequences.embeddingForward(td, d, id, od);
    }

    @Override
    public void embeddingBackward(Tensor dOut, Tensor indices, Tensor dTable) {
        float[] dd = data(dOut, "dOut"), id = data(indices, "indices"), td = data(dTable, "dTable");
        int d = CHECK.embeddingBackward(dOut, indices, dTable);
        sequences.embeddingBackward(dd, d, id, td);
    }

    @Override
    public void lstmCellForward(Tensor a, Tensor cPrev, Tensor gates, Tensor c, Tensor h) {
        float[] ad = data(a, "a"), cp = data(cPrev, "cPrev"), gd = data(gates, "gates"), cd = data(c, "c"),
                hd = data(h, "h");
        Channels s = CHECK.lstmCellForward(a, cPrev, gates, c, h);
        sequences.lstmCellForward(s, ad, cp, gd, cd, hd);
    }

    @Override
    public void lstmCellBackward(Tensor gates, Tensor cPrev, Tensor c, Tensor dh, Tensor dc, Tensor da, Tensor dcPrev) {
        float[] gd = data(gates, "gates"), cp = data(cPrev, "cPrev"), cd = data(c, "c"), dhd = data(dh, "dh"),
                dad = data(da, "da"), dcp = data(dcPrev, "dcPrev");
        float[] dcd = dc == null ? null : data(dc, "dc");
        Channels s = CHECK.lstmCellBackward(gates, cPrev, c, dh, dc, da, dcPrev);
        sequences.lstmCellBackward(s, gd, cp, cd, dhd, dcd, dad, dcp);
    }

    @Override
    public void argmax(Tensor scores, Tensor indices) {
        float[] sd = data(scores, "scores"), id = data(indices, "indices");
        int k = CHECK.argmax(scores, indices);
        sequences.argmax(indices.size(), k, sd, id);
    }

    // ---- optimizers -----------------------------------------------------------------------------------

    @Override
    public void sgdUpdate(Tensor w, Tensor g, Tensor velocity, float lr, float momentum, boolean nesterov,
                          float weightDecay) {
        float[] wd = data(w, "w"), gd = data(g, "g");
        float[] vd = momentum != 0f ? data(velocity, "velocity") : null;
        ArgumentChecks.sgdUpdate(w, g, velocity, momentum);
        optimizers.sgd(wd, gd, vd, lr, momentum, nesterov, weightDecay);
    }

    @Override
    public void rmspropUpdate(Tensor w, Tensor g, Tensor squareAvg, float lr, float alpha, float eps,
                              float weightDecay) {
        float[] wd = data(w, "w"), gd = data(g, "g"), sd = data(squareAvg, "squareAvg");
        ArgumentChecks.rmspropUpdate(w, g, squareAvg);
        optimizers.rmsprop(wd, gd, sd, lr, alpha, eps, weightDecay);
    }

    @Override
    public void adamUpdate(Tensor w, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                           float weightDecay, long step) {
        float[] wd = data(w, "w"), gd = data(g, "g"), md = data(m, "m"), vd = data(v, "v");
        ArgumentChecks.adamUpdate(w, g, m, v, step);
        float c1 = (float) (1.0 - Math.pow(beta1, step));
        float c2 = (float) (1.0 - Math.pow(beta2, step));
        optimizers.adam(wd, gd, md, vd, lr, beta1, beta2, eps, weightDecay, c1, c2);
    }
}
