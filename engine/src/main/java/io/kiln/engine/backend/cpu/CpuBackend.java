package io.kiln.engine.backend.cpu;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.ConvGeometry;
import io.kiln.engine.backend.CounterRandom;
import io.kiln.engine.backend.LossKind;
import io.kiln.engine.backend.PoolGeometry;
import io.kiln.engine.backend.PoolMode;
import io.kiln.engine.tensor.Tensor;

import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The reference backend: plain Java over {@code float[]}, every operation synchronous, parallelised over
 * a private {@link ForkJoinPool} when the work is large enough to pay for it. Matrix products use the
 * blocked, packed kernel of {@link Gemm}; convolutions are im2col (or col2im) plus that kernel, one image
 * per task. See {@code docs/cpu-backend.md}.
 *
 * <p>It accepts only {@link CpuTensor}s (from any {@code CpuBackend}: they are plain host arrays) and
 * rejects closed ones. It may be used from several threads at once as long as they do not write the same
 * tensors. After {@link #close} it keeps working, on the calling thread only.
 */
public final class CpuBackend implements Backend {
    /** Below this many elementary operations a call runs on the calling thread alone. */
    private static final long PARALLEL_MIN_WORK = 1L << 17;

    private final int threads;
    private final ForkJoinPool pool;
    private final ThreadLocal<Gemm.Scratch> scratch = ThreadLocal.withInitial(Gemm.Scratch::new);
    private final Gemm.Kernel kernel;
    private volatile boolean closed;

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
        this.kernel = Objects.requireNonNull(kernel, "kernel");
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
        this.threads = threads;
        if (threads == 1) {
            pool = null;
        } else {
            AtomicInteger counter = new AtomicInteger();
            pool = new ForkJoinPool(threads, p -> {
                ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
                t.setName("kiln-cpu-" + counter.incrementAndGet());
                t.setDaemon(true);
                return t;
            }, null, false);
        }
    }

    public int threads() {
        return threads;
    }

    @Override
    public String name() {
        return "cpu (" + threads + (threads == 1 ? " thread)" : " threads)");
    }

    Gemm.Kernel kernel() {
        return kernel;
    }

    @Override
    public void close() {
        closed = true;
        if (pool != null) {
            pool.shutdown();
        }
    }

    // ---- parallel helpers -----------------------------------------------------------------------------

    @FunctionalInterface
    interface RangeTask {
        void run(int chunk, int from, int to);
    }

    /** How many chunks to split {@code count} items costing {@code work} operations in all into. */
    private int chunks(int count, long work) {
        if (pool == null || closed || count < 2 || work < PARALLEL_MIN_WORK) {
            return 1;
        }
        Thread t = Thread.currentThread();
        if (t instanceof ForkJoinWorkerThread w && w.getPool() == pool) {
            return 1; // already inside one of our tasks
        }
        return (int) Math.min(Math.min(threads, count), Math.max(1, work / (PARALLEL_MIN_WORK / 2)));
    }

    /** Runs body over [0, count) split evenly into chunks, chunk boundaries multiples of align. */
    private void parallel(int count, int chunks, int align, RangeTask body) {
        if (chunks <= 1) {
            body.run(0, 0, count);
            return;
        }
        int[] bounds = new int[chunks + 1];
        for (int t = 1; t < chunks; t++) {
            int b = (int) ((long) count * t / chunks);
            b = Math.min(count, (b + align - 1) / align * align);
            bounds[t] = Math.max(bounds[t - 1], b);
        }
        bounds[chunks] = count;
        ForkJoinTask<?>[] tasks = new ForkJoinTask<?>[chunks - 1];
        for (int t = 1; t < chunks; t++) {
            int ci = t, from = bounds[t], to = bounds[t + 1];
            tasks[t - 1] = pool.submit(() -> body.run(ci, from, to));
        }
        Throwable error = null;
        try {
            body.run(0, bounds[0], bounds[1]);
        } catch (Throwable e) {
            error = e;
        }
        for (ForkJoinTask<?> task : tasks) {
            try {
                task.join();
            } catch (Throwable e) {
                if (error == null) {
                    error = e;
                } else {
                    error.addSuppressed(e);
                }
            }
        }
        if (error instanceof RuntimeException re) {
            throw re;
        }
        if (error instanceof Error er) {
            throw er;
        }
        if (error != null) {
            throw new IllegalStateException(error);
        }
    }

    /**
     * Runs body over [0, count) on {@code participants} threads that claim blocks of {@code grain} items
     * from a shared counter, so a thread that the OS delays (the cores may be shared) just takes fewer. A
     * participant's calls come one after another, in increasing order; one may get no items at all.
     */
    private void parallelDynamic(int count, int participants, int grain, RangeTask body) {
        if (participants <= 1) {
            body.run(0, 0, count);
            return;
        }
        AtomicInteger next = new AtomicInteger();
        parallel(participants, participants, 1, (ci, from, to) -> {
            for (int p = from; p < to; p++) {
                int start;
                while ((start = next.getAndAdd(grain)) < count) {
                    body.run(p, start, Math.min(count, start + grain));
                }
            }
        });
    }

    private void parallel(int count, long work, RangeTask body) {
        parallel(count, chunks(count, work), 1, body);
    }

    // ---- argument checks ------------------------------------------------------------------------------

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

    private static void noAlias(String op, String out, Tensor o, String in, Tensor i) {
        if (((CpuTensor) o).data() == ((CpuTensor) i).data()) {
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

    // ---- memory ---------------------------------------------------------------------------------------

    @Override
    public CpuTensor allocate(int... shape) {
        return new CpuTensor(shape);
    }

    @Override
    public void upload(float[] src, Tensor dst) {
        float[] d = data(dst, "dst");
        if (src.length != d.length) {
            throw new IllegalArgumentException("upload: source of " + src.length + " floats, destination "
                    + Arrays.toString(dst.shape()) + " has " + d.length + " elements");
        }
        System.arraycopy(src, 0, d, 0, d.length);
    }

    @Override
    public void download(Tensor src, float[] dst) {
        float[] s = data(src, "src");
        if (dst.length != s.length) {
            throw new IllegalArgumentException("download: source " + Arrays.toString(src.shape()) + " has " + s.length
                    + " elements, destination holds " + dst.length + " floats");
        }
        System.arraycopy(s, 0, dst, 0, s.length);
    }

    @Override
    public void fill(Tensor t, float value) {
        Arrays.fill(data(t, "t"), value);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        float[] s = data(src, "src"), d = data(dst, "dst");
        sameSize("copy", "src", src, "dst", dst);
        System.arraycopy(s, 0, d, 0, s.length);
    }

    @Override
    public void synchronize() {
        // every operation is synchronous
    }

    // ---- matrix products ------------------------------------------------------------------------------

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, Tensor b,
                     float beta, Tensor c) {
        float[] ad = data(a, "A"), bd = data(b, "B"), cd = data(c, "C");
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("gemm: negative dimension m=" + m + " n=" + n + " k=" + k);
        }
        expectSize("gemm", "A", a, (long) m * k, (transA ? "[k, m] = [" + k + ", " + m : "[m, k] = [" + m + ", " + k) + "]");
        expectSize("gemm", "B", b, (long) k * n, (transB ? "[n, k] = [" + n + ", " + k : "[k, n] = [" + k + ", " + n) + "]");
        expectSize("gemm", "C", c, (long) m * n, "[m, n] = [" + m + ", " + n + "]");
        noAlias("gemm", "C", c, "A", a);
        noAlias("gemm", "C", c, "B", b);
        gemm(transA, transB, m, n, k, alpha, ad, 0, bd, 0, beta, cd, 0, true);
    }

    /** GEMM on arrays with offsets; parallel only when allowed and worthwhile. */
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int aOff,
              float[] b, int bOff, float beta, float[] c, int cOff, boolean mayParallel) {
        gemm(transA, m, n, k, alpha, a, aOff, new Gemm.MatrixB(transB, n, k, b, bOff), beta, c, cOff, mayParallel);
    }

    /** GEMM with op(B) from a packer; parallel only when allowed and worthwhile. */
    void gemm(boolean transA, int m, int n, int k, float alpha, float[] a, int aOff, Gemm.BPanel b,
              float beta, float[] c, int cOff, boolean mayParallel) {
        if (m == 0 || n == 0) {
            return;
        }
        if (k == 0 || alpha == 0f) {
            Gemm.scaleC(beta, c, cOff, m * n);
            return;
        }
        long work = (long) m * n * k;
        int chunks = mayParallel ? chunks(Math.max(Math.max(m, n), k), work / 4) : 1;
        if (chunks <= 1) {
            Gemm.tile(kernel, transA, m, n, k, alpha, a, aOff, b, beta, c, cOff, 0, m, 0, n, scratch.get());
        } else if (k >= 512 && k >= 4 * m && k >= 4 * n) {
            // long and thin (x W^T of a wide dense layer): split k, so that no task packs all of op(B); each
            // task sums its share of k, the first straight into C, the others into buffers added at the end
            int kChunks = Math.min(chunks, k / 256);
            float[][] partial = new float[kChunks][];
            parallel(k, kChunks, 4, (ci, from, to) -> {
                Gemm.BPanel part = new Gemm.BPanel() {
                    @Override
                    public void pack(int pb, int kcb, int jb, int ncb, float[][] panel) {
                        b.pack(from + pb, kcb, jb, ncb, panel);
                    }
                };
                int aPart = transA ? aOff + from * m : aOff + from;
                float[] out = ci == 0 ? c : (partial[ci] = new float[m * n]);
                Gemm.tile(kernel, transA, m, n, to - from, transA ? m : k, alpha, a, aPart, part, ci == 0 ? beta : 0f,
                        out, ci == 0 ? cOff : 0, 0, m, 0, n, scratch.get());
            });
            for (int t = 1; t < kChunks; t++) {
                float[] p = partial[t];
                for (int i = 0; i < m * n; i++) {
                    c[cOff + i] += p[i];
                }
            }
        } else if (m >= 8 * chunks || n < 32 * chunks) {
            // split the rows: every task packs the whole of op(B) for its rows
            parallel(m, Math.min(chunks, (m + 3) / 4), 4, (ci, from, to) -> Gemm.tile(kernel, transA, m, n, k, alpha,
                    a, aOff, b, beta, c, cOff, from, to, 0, n, scratch.get()));
        } else {
            parallel(n, chunks, 16, (ci, from, to) -> Gemm.tile(kernel, transA, m, n, k, alpha,
                    a, aOff, b, beta, c, cOff, 0, m, from, to, scratch.get()));
        }
    }

    // ---- convolution ----------------------------------------------------------------------------------

    private static void checkConv(String op, ConvGeometry g, Tensor x, String xName, Tensor w, Tensor y, String yName) {
        Objects.requireNonNull(g, "geometry");
        expectSize(op, xName, x, (long) g.n() * g.c() * g.h() * g.w(), "input " + Arrays.toString(g.inputShape()) + " of " + g);
        expectSize(op, "w", w, (long) g.k() * g.c() * g.kernelH() * g.kernelW(), "filters " + Arrays.toString(g.filterShape()) + " of " + g);
        expectSize(op, yName, y, (long) g.n() * g.k() * g.outH() * g.outW(), "output " + Arrays.toString(g.outputShape()) + " of " + g);
    }

    private static boolean isPointwise(ConvGeometry g) {
        return g.kernelH() == 1 && g.kernelW() == 1 && g.strideH() == 1 && g.strideW() == 1
                && g.padH() == 0 && g.padW() == 0;
    }

    /** Images claimed at a time: about four claims per thread, so a delayed thread can be made up for. */
    private static int imageGrain(int n, int chunks) {
        return Math.max(1, n / (4 * Math.max(1, chunks)));
    }

    /** Whether one call should spread its images over the threads (else each product may go parallel). */
    private boolean imagesInParallel(int chunks, int n) {
        return chunks > 1 && n >= threads;
    }

    @Override
    public void conv2dForward(ConvGeometry g, Tensor x, Tensor w, Tensor y) {
        float[] xd = data(x, "x"), wd = data(w, "w"), yd = data(y, "y");
        checkConv("conv2dForward", g, x, "x", w, y, "y");
        noAlias("conv2dForward", "y", y, "x", x);
        noAlias("conv2dForward", "y", y, "w", w);
        forward(g, xd, wd, yd);
    }

    /** y = conv(x, w) on arrays: per image, y_img [k, outH*outW] = w [k, c*kh*kw] * columns(x_img). */
    private void forward(ConvGeometry g, float[] xd, float[] wd, float[] yd) {
        int crs = g.c() * g.kernelH() * g.kernelW(), ohw = g.outH() * g.outW();
        int inSize = g.c() * g.h() * g.w(), outSize = g.k() * ohw;
        boolean pointwise = isPointwise(g);
        int chunks = chunks(g.n(), g.macs());
        boolean byImage = imagesInParallel(chunks, g.n());
        parallelDynamic(g.n(), byImage ? chunks : 1, imageGrain(g.n(), chunks), (ci, from, to) -> {
            for (int img = from; img < to; img++) {
                Gemm.BPanel cols = pointwise ? new Gemm.MatrixB(false, ohw, crs, xd, img * inSize)
                        : new Im2col.Columns(g, xd, img * inSize);
                gemm(false, g.k(), ohw, crs, 1f, wd, 0, cols, 0f, yd, img * outSize, !byImage);
            }
        });
    }

    @Override
    public void conv2dBackwardData(ConvGeometry g, Tensor w, Tensor dy, Tensor dx) {
        float[] wd = data(w, "w"), dyd = data(dy, "dy"), dxd = data(dx, "dx");
        checkConv("conv2dBackwardData", g, dx, "dx", w, dy, "dy");
        noAlias("conv2dBackwardData", "dx", dx, "dy", dy);
        noAlias("conv2dBackwardData", "dx", dx, "w", w);
        int c = g.c(), k = g.k(), kh = g.kernelH(), kw = g.kernelW();
        // per image: dcol [c*kh*kw, outH*outW] = w^T * dy_img, scattered back into dx by col2im
        int crs = c * kh * kw, ohw = g.outH() * g.outW();
        int inSize = c * g.h() * g.w(), outSize = k * ohw;
        boolean pointwise = isPointwise(g);
        int chunks = chunks(g.n(), g.macs());
        boolean byImage = imagesInParallel(chunks, g.n());
        parallelDynamic(g.n(), byImage ? chunks : 1, imageGrain(g.n(), chunks), (ci, from, to) -> {
            for (int img = from; img < to; img++) {
                if (pointwise) {
                    gemm(true, false, crs, ohw, k, 1f, wd, 0, dyd, img * outSize, 0f, dxd, img * inSize, !byImage);
                } else {
                    float[] dcol = scratch.get().col(crs * ohw);
                    gemm(true, false, crs, ohw, k, 1f, wd, 0, dyd, img * outSize, 0f, dcol, 0, !byImage);
                    Im2col.col2im(g, dcol, dxd, img * inSize);
                }
            }
        });
    }

    @Override
    public void conv2dBackwardFilter(ConvGeometry g, Tensor x, Tensor dy, Tensor dw) {
        float[] xd = data(x, "x"), dyd = data(dy, "dy"), dwd = data(dw, "dw");
        checkConv("conv2dBackwardFilter", g, x, "x", dw, dy, "dy");
        noAlias("conv2dBackwardFilter", "dw", dw, "x", x);
        noAlias("conv2dBackwardFilter", "dw", dw, "dy", dy);
        int k = g.k(), crs = g.c() * g.kernelH() * g.kernelW(), ohw = g.outH() * g.outW();
        int inSize = g.c() * g.h() * g.w(), outSize = k * ohw;
        int filterSize = k * crs;
        boolean pointwise = isPointwise(g);
        // few filter taps (a first layer): make the filters the long side, dw^T [crs, k] = columns * dy^T
        boolean swapped = crs < k && crs < 64;
        int chunks = chunks(g.n(), g.macs());
        boolean byImage = imagesInParallel(chunks, g.n());
        // The images go in fixed blocks, each summed into its own buffer (block 0 straight into dw unless
        // swapped), and the buffers are added in block order: which thread ran a block does not change the
        // result. Up to four blocks per thread, fewer when the filters are large.
        int blocks = 1;
        if (byImage) {
            long budget = (64L << 20) / 4 / Math.max(1, filterSize);
            blocks = (int) Math.min(g.n(), Math.max(chunks, Math.min(4L * chunks, budget)));
        }
        int grain = (g.n() + blocks - 1) / blocks;
        int nBlocks = (g.n() + grain - 1) / grain;
        float[][] partial = new float[nBlocks][];
        parallelDynamic(g.n(), byImage ? chunks : 1, grain, (ci, from, to) -> {
            int block = from / grain;
            float[] acc = partial[block] = block == 0 && !swapped ? dwd : new float[filterSize];
            for (int img = from; img < to; img++) {
                float beta = img == from ? 0f : 1f;
                float[] col;
                int colOff;
                if (pointwise) {
                    col = xd;
                    colOff = img * inSize;
                } else {
                    col = scratch.get().col(crs * ohw);
                    colOff = 0;
                    Im2col.im2col(g, xd, img * inSize, col);
                }
                if (swapped) {
                    gemm(false, true, crs, k, ohw, 1f, col, colOff, dyd, img * outSize, beta, acc, 0, !byImage);
                } else {
                    // dw [k, crs] (+)= dy_img [k, ohw] * col^T [ohw, crs]
                    gemm(false, true, k, crs, ohw, 1f, dyd, img * outSize, col, colOff, beta, acc, 0, !byImage);
                }
            }
        });
        if (swapped) {
            for (int f = 0; f < k; f++) {
                for (int j = 0; j < crs; j++) {
                    float sum = 0f;
                    for (float[] p : partial) {
                        sum += p[j * k + f];
                    }
                    dwd[f * crs + j] = sum;
                }
            }
        } else {
            for (int t = 1; t < nBlocks; t++) {
                float[] p = partial[t];
                for (int i = 0; i < filterSize; i++) {
                    dwd[i] += p[i];
                }
            }
        }
    }

    // ---- bias -----------------------------------------------------------------------------------------

    @Override
    public void addBias(Tensor y, Tensor bias) {
        float[] yd = data(y, "y"), bd = data(bias, "bias");
        int c = channelsOf("addBias", "y", y);
        expectSize("addBias", "bias", bias, c, "dimension 1 of y " + Arrays.toString(y.shape()));
        noAlias("addBias", "y", y, "bias", bias);
        int n = y.dim(0), spatial = c == 0 || n == 0 ? 0 : y.size() / (n * c);
        if (spatial == 1) {
            parallel(n, (long) n * c, (ci, from, to) -> {
                for (int i = from; i < to; i++) {
                    int o = i * c;
                    for (int j = 0; j < c; j++) {
                        yd[o + j] += bd[j];
                    }
                }
            });
        } else {
            parallel(n * c, (long) y.size(), (ci, from, to) -> {
                for (int nc = from; nc < to; nc++) {
                    float v = bd[nc % c];
                    int o = nc * spatial;
                    for (int s = 0; s < spatial; s++) {
                        yd[o + s] += v;
                    }
                }
            });
        }
    }

    @Override
    public void biasBackward(Tensor dy, Tensor db) {
        float[] dyd = data(dy, "dy"), dbd = data(db, "db");
        int c = channelsOf("biasBackward", "dy", dy);
        expectSize("biasBackward", "db", db, c, "dimension 1 of dy " + Arrays.toString(dy.shape()));
        noAlias("biasBackward", "db", db, "dy", dy);
        int n = dy.dim(0), spatial = c == 0 || n == 0 ? 0 : dy.size() / (n * c);
        parallel(c, (long) dy.size(), (ci, from, to) -> {
            for (int ch = from; ch < to; ch++) {
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    sum += sum(dyd, (i * c + ch) * spatial, spatial);
                }
                dbd[ch] = (float) sum;
            }
        });
    }

    // ---- reductions (eight partial sums: a single float accumulator is bound by the add latency) --------

    static float sum(float[] a, int off, int len) {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f, s4 = 0f, s5 = 0f, s6 = 0f, s7 = 0f;
        int i = off, end = off + len;
        for (; i + 8 <= end; i += 8) {
            s0 += a[i];
            s1 += a[i + 1];
            s2 += a[i + 2];
            s3 += a[i + 3];
            s4 += a[i + 4];
            s5 += a[i + 5];
            s6 += a[i + 6];
            s7 += a[i + 7];
        }
        for (; i < end; i++) {
            s0 += a[i];
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    /** Sum of (a[i] - mean)^2. */
    static float sumSquaredDeviation(float[] a, int off, int len, float mean) {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        int i = off, end = off + len;
        for (; i + 4 <= end; i += 4) {
            float d0 = a[i] - mean, d1 = a[i + 1] - mean, d2 = a[i + 2] - mean, d3 = a[i + 3] - mean;
            s0 += d0 * d0;
            s1 += d1 * d1;
            s2 += d2 * d2;
            s3 += d3 * d3;
        }
        for (; i < end; i++) {
            float d = a[i] - mean;
            s0 += d * d;
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** Sum of g[i] * (x[i] - mean). */
    static float dotDeviation(float[] g, float[] x, int off, int len, float mean) {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        int i = off, end = off + len;
        for (; i + 4 <= end; i += 4) {
            s0 += g[i] * (x[i] - mean);
            s1 += g[i + 1] * (x[i + 1] - mean);
            s2 += g[i + 2] * (x[i + 2] - mean);
            s3 += g[i + 3] * (x[i + 3] - mean);
        }
        for (; i < end; i++) {
            s0 += g[i] * (x[i] - mean);
        }
        return (s0 + s1) + (s2 + s3);
    }

    // ---- pooling --------------------------------------------------------------------------------------

    private static void checkPool(String op, PoolMode mode, PoolGeometry g, Tensor x, String xName, Tensor y, String yName) {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(g, "geometry");
        expectSize(op, xName, x, (long) g.n() * g.c() * g.h() * g.w(), "input " + Arrays.toString(g.inputShape()) + " of " + g);
        expectSize(op, yName, y, (long) g.n() * g.c() * g.outH() * g.outW(), "output " + Arrays.toString(g.outputShape()) + " of " + g);
    }

    @Override
    public void poolForward(PoolMode mode, PoolGeometry g, Tensor x, Tensor y) {
        float[] xd = data(x, "x"), yd = data(y, "y");
        checkPool("poolForward", mode, g, x, "x", y, "y");
        noAlias("poolForward", "y", y, "x", x);
        int planes = g.n() * g.c();
        long work = (long) planes * g.outH() * g.outW() * g.windowH() * g.windowW();
        parallel(planes, work, (ci, from, to) -> {
            for (int pl = from; pl < to; pl++) {
                Pooling.forward(mode, g, xd, pl * g.h() * g.w(), yd, pl * g.outH() * g.outW());
            }
        });
    }

    @Override
    public void poolBackward(PoolMode mode, PoolGeometry g, Tensor x, Tensor y, Tensor dy, Tensor dx) {
        float[] xd = data(x, "x"), dyd = data(dy, "dy"), dxd = data(dx, "dx");
        data(y, "y");
        checkPool("poolBackward", mode, g, x, "x", y, "y");
        checkPool("poolBackward", mode, g, dx, "dx", dy, "dy");
        noAlias("poolBackward", "dx", dx, "dy", dy);
        noAlias("poolBackward", "dx", dx, "x", x);
        int planes = g.n() * g.c();
        long work = (long) planes * g.outH() * g.outW() * g.windowH() * g.windowW();
        parallel(planes, work, (ci, from, to) -> {
            for (int pl = from; pl < to; pl++) {
                Pooling.backward(mode, g, xd, pl * g.h() * g.w(), dyd, pl * g.outH() * g.outW(), dxd);
            }
        });
    }

    // ---- pointwise ------------------------------------------------------------------------------------

    @Override
    public void activationForward(Activation f, Tensor x, Tensor y) {
        Objects.requireNonNull(f, "activation");
        float[] xd = data(x, "x"), yd = data(y, "y");
        sameSize("activationForward", "x", x, "y", y);
        long cost = f == Activation.RELU ? 1 : 16;
        parallel(xd.length, cost * xd.length, (ci, from, to) -> {
            switch (f) {
                case RELU -> {
                    for (int i = from; i < to; i++) {
                        yd[i] = Math.max(xd[i], 0f);
                    }
                }
                case SIGMOID -> {
                    for (int i = from; i < to; i++) {
                        yd[i] = (float) (1.0 / (1.0 + Math.exp(-xd[i])));
                    }
                }
                case TANH -> {
                    for (int i = from; i < to; i++) {
                        yd[i] = (float) Math.tanh(xd[i]);
                    }
                }
            }
        });
    }

    @Override
    public void activationBackward(Activation f, Tensor y, Tensor dy, Tensor dx) {
        Objects.requireNonNull(f, "activation");
        float[] yd = data(y, "y"), dyd = data(dy, "dy"), dxd = data(dx, "dx");
        sameSize("activationBackward", "dy", dy, "y", y);
        sameSize("activationBackward", "dx", dx, "y", y);
        parallel(yd.length, 2L * yd.length, (ci, from, to) -> {
            switch (f) {
                case RELU -> {
                    // dx = y > 0 ? dy : 0 without a float ?: (a mispredicted jump per element): keep dy's bits
                    // under a mask that is all ones exactly when y's bits, as an int, are positive
                    for (int i = from; i < to; i++) {
                        int bits = Float.floatToRawIntBits(yd[i]);
                        int mask = (-bits >> 31) & ~(bits >> 31);
                        dxd[i] = Float.intBitsToFloat(Float.floatToRawIntBits(dyd[i]) & mask);
                    }
                }
                case SIGMOID -> {
                    for (int i = from; i < to; i++) {
                        float v = yd[i];
                        dxd[i] = dyd[i] * v * (1f - v);
                    }
                }
                case TANH -> {
                    for (int i = from; i < to; i++) {
                        float v = yd[i];
                        dxd[i] = dyd[i] * (1f - v * v);
                    }
                }
            }
        });
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        float[] ad = data(a, "a"), bd = data(b, "b"), od = data(out, "out");
        sameSize("add", "b", b, "a", a);
        sameSize("add", "out", out, "a", a);
        parallel(od.length, od.length, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                od[i] = ad[i] + bd[i];
            }
        });
    }

    @Override
    public void multiply(Tensor a, Tensor b, Tensor out) {
        float[] ad = data(a, "a"), bd = data(b, "b"), od = data(out, "out");
        sameSize("multiply", "b", b, "a", a);
        sameSize("multiply", "out", out, "a", a);
        parallel(od.length, od.length, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                od[i] = ad[i] * bd[i];
            }
        });
    }

    @Override
    public void axpy(float alpha, Tensor x, Tensor y) {
        float[] xd = data(x, "x"), yd = data(y, "y");
        sameSize("axpy", "x", x, "y", y);
        parallel(yd.length, yd.length, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                yd[i] += alpha * xd[i];
            }
        });
    }

    @Override
    public void scale(Tensor x, float alpha) {
        float[] xd = data(x, "x");
        parallel(xd.length, xd.length, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                xd[i] *= alpha;
            }
        });
    }

    @Override
    public void dropoutForward(Tensor x, float p, long seed, Tensor mask, Tensor y) {
        float[] xd = data(x, "x"), md = data(mask, "mask"), yd = data(y, "y");
        if (!(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException("dropoutForward: p must be in [0, 1), got " + p);
        }
        sameSize("dropoutForward", "mask", mask, "x", x);
        sameSize("dropoutForward", "y", y, "x", x);
        noAlias("dropoutForward", "mask", mask, "x", x);
        noAlias("dropoutForward", "mask", mask, "y", y);
        float keep = 1f / (1f - p);
        parallel(xd.length, 8L * xd.length, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                float mv = CounterRandom.uniform(seed, i) >= p ? keep : 0f;
                md[i] = mv;
                yd[i] = xd[i] * mv;
            }
        });
    }

    // ---- batch normalisation --------------------------------------------------------------------------

    private static void checkBnParam(String op, int c, Tensor x, Tensor t, String what) {
        cpu(t, what);
        expectSize(op, what, t, c, "channels of x " + Arrays.toString(x.shape()));
    }

    @Override
    public void batchNormForwardTraining(Tensor x, Tensor gamma, Tensor beta, float eps, float momentum,
                                         Tensor runningMean, Tensor runningVar, Tensor saveMean,
                                         Tensor saveInvStd, Tensor y) {
        String op = "batchNormForwardTraining";
        float[] xd = data(x, "x"), yd = data(y, "y");
        int c = channelsOf(op, "x", x);
        checkBnParam(op, c, x, gamma, "gamma");
        checkBnParam(op, c, x, beta, "beta");
        checkBnParam(op, c, x, runningMean, "runningMean");
        checkBnParam(op, c, x, runningVar, "runningVar");
        checkBnParam(op, c, x, saveMean, "saveMean");
        checkBnParam(op, c, x, saveInvStd, "saveInvStd");
        sameSize(op, "y", y, "x", x);
        float[] gd = data(gamma, "gamma"), bd = data(beta, "beta"), rm = data(runningMean, "runningMean"),
                rv = data(runningVar, "runningVar"), sm = data(saveMean, "saveMean"), si = data(saveInvStd, "saveInvStd");
        int n = x.dim(0), spatial = c == 0 || n == 0 ? 0 : x.size() / (n * c);
        long count = (long) n * spatial;
        parallel(c, 4L * x.size(), (ci, from, to) -> {
            for (int ch = from; ch < to; ch++) {
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    sum += sum(xd, (i * c + ch) * spatial, spatial);
                }
                double mean = count == 0 ? 0 : sum / count;
                float mf = (float) mean;
                double sq = 0;
                for (int i = 0; i < n; i++) {
                    sq += sumSquaredDeviation(xd, (i * c + ch) * spatial, spatial, mf);
                }
                double var = count == 0 ? 0 : sq / count;
                float inv = (float) (1.0 / Math.sqrt(var + eps));
                float scaleF = gd[ch] * inv, shift = bd[ch] - mf * scaleF;
                for (int i = 0; i < n; i++) {
                    int o = (i * c + ch) * spatial;
                    for (int p = 0; p < spatial; p++) {
                        yd[o + p] = xd[o + p] * scaleF + shift;
                    }
                }
                sm[ch] = mf;
                si[ch] = inv;
                double unbiased = count > 1 ? var * count / (count - 1) : var;
                rm[ch] = (float) ((1.0 - momentum) * rm[ch] + momentum * mean);
                rv[ch] = (float) ((1.0 - momentum) * rv[ch] + momentum * unbiased);
            }
        });
    }

    @Override
    public void batchNormForwardInference(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor runningMean,
                                          Tensor runningVar, Tensor y) {
        String op = "batchNormForwardInference";
        float[] xd = data(x, "x"), yd = data(y, "y");
        int c = channelsOf(op, "x", x);
        checkBnParam(op, c, x, gamma, "gamma");
        checkBnParam(op, c, x, beta, "beta");
        checkBnParam(op, c, x, runningMean, "runningMean");
        checkBnParam(op, c, x, runningVar, "runningVar");
        sameSize(op, "y", y, "x", x);
        float[] gd = data(gamma, "gamma"), bd = data(beta, "beta"), rm = data(runningMean, "runningMean"),
                rv = data(runningVar, "runningVar");
        int n = x.dim(0), spatial = c == 0 || n == 0 ? 0 : x.size() / (n * c);
        float[] scaleF = new float[c], shift = new float[c];
        for (int ch = 0; ch < c; ch++) {
            scaleF[ch] = (float) (gd[ch] / Math.sqrt((double) rv[ch] + eps));
            shift[ch] = bd[ch] - rm[ch] * scaleF[ch];
        }
        parallel(n * c, 2L * x.size(), (ci, from, to) -> {
            for (int nc = from; nc < to; nc++) {
                int ch = nc % c, o = nc * spatial;
                float sc = scaleF[ch], sh = shift[ch];
                for (int p = 0; p < spatial; p++) {
                    yd[o + p] = xd[o + p] * sc + sh;
                }
            }
        });
    }

    @Override
    public void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                  Tensor dx, Tensor dGamma, Tensor dBeta) {
        String op = "batchNormBackward";
        float[] xd = data(x, "x"), dyd = data(dy, "dy"), dxd = data(dx, "dx");
        int c = channelsOf(op, "x", x);
        checkBnParam(op, c, x, gamma, "gamma");
        checkBnParam(op, c, x, saveMean, "saveMean");
        checkBnParam(op, c, x, saveInvStd, "saveInvStd");
        checkBnParam(op, c, x, dGamma, "dGamma");
        checkBnParam(op, c, x, dBeta, "dBeta");
        sameSize(op, "dy", dy, "x", x);
        sameSize(op, "dx", dx, "x", x);
        noAlias(op, "dx", dx, "x", x);
        float[] gd = data(gamma, "gamma"), sm = data(saveMean, "saveMean"), si = data(saveInvStd, "saveInvStd"),
                dgd = data(dGamma, "dGamma"), dbd = data(dBeta, "dBeta");
        int n = x.dim(0), spatial = c == 0 || n == 0 ? 0 : x.size() / (n * c);
        long count = (long) n * spatial;
        parallel(c, 4L * x.size(), (ci, from, to) -> {
            for (int ch = from; ch < to; ch++) {
                float mean = sm[ch], inv = si[ch];
                double sumDy = 0, sumDyXhat = 0;
                for (int i = 0; i < n; i++) {
                    int o = (i * c + ch) * spatial;
                    sumDy += sum(dyd, o, spatial);
                    sumDyXhat += dotDeviation(dyd, xd, o, spatial, mean);
                }
                sumDyXhat *= inv;
                dbd[ch] = (float) sumDy;
                dgd[ch] = (float) sumDyXhat;
                if (count == 0) {
                    continue;
                }
                // dx = gamma * inv / M * (M * dy - sum(dy) - xhat * sum(dy * xhat))
                float k1 = gd[ch] * inv;
                float meanDy = (float) (sumDy / count), meanDyXhat = (float) (sumDyXhat / count);
                for (int i = 0; i < n; i++) {
                    int o = (i * c + ch) * spatial;
                    for (int p = 0; p < spatial; p++) {
                        float xhat = (xd[o + p] - mean) * inv;
                        dxd[o + p] = k1 * (dyd[o + p] - meanDy - xhat * meanDyXhat);
                    }
                }
            }
        });
    }

    // ---- losses ---------------------------------------------------------------------------------------

    @Override
    public void softmax(Tensor scores, Tensor probabilities) {
        float[] sd = data(scores, "scores"), pd = data(probabilities, "probabilities");
        if (scores.rank() < 2) {
            throw new IllegalArgumentException("softmax: scores " + Arrays.toString(scores.shape()) + " must be [n, k]");
        }
        sameSize("softmax", "probabilities", probabilities, "scores", scores);
        int n = scores.dim(0), k = scores.itemSize();
        parallel(n, 16L * sd.length, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                int o = i * k;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < k; j++) {
                    max = Math.max(max, sd[o + j]);
                }
                double sum = 0;
                for (int j = 0; j < k; j++) {
                    float e = (float) Math.exp(sd[o + j] - max);
                    pd[o + j] = e;
                    sum += e;
                }
                float inv = (float) (1.0 / sum);
                for (int j = 0; j < k; j++) {
                    pd[o + j] *= inv;
                }
            }
        });
    }

    @Override
    public void loss(LossKind kind, Tensor output, Tensor labels, Tensor grad, Tensor stats, int slot) {
        Objects.requireNonNull(kind, "kind");
        float[] od = data(output, "output"), ld = data(labels, "labels"), st = data(stats, "stats");
        float[] gd = grad == null ? null : data(grad, "grad");
        int n = labels.size();
        if (n == 0 || output.size() % n != 0 || output.dim(0) != n) {
            throw new IllegalArgumentException("loss: output " + Arrays.toString(output.shape()) + " does not match labels "
                    + Arrays.toString(labels.shape()) + " (output must be [n, k] with n = number of labels)");
        }
        int k = output.size() / n;
        if (grad != null) {
            sameSize("loss", "grad", grad, "output", output);
            noAlias("loss", "grad", grad, "labels", labels);
        }
        if (slot < 0 || 2L * slot + 1 >= st.length) {
            throw new IllegalArgumentException("loss: slot " + slot + " outside stats " + Arrays.toString(stats.shape()));
        }
        if (kind == LossKind.LOGISTIC && k != 1) {
            throw new IllegalArgumentException("loss: LOGISTIC needs one output per sample, got output "
                    + Arrays.toString(output.shape()));
        }
        boolean regression = kind == LossKind.MSE && k == 1;
        int classes = kind == LossKind.LOGISTIC ? 2 : k;
        if (!regression) {
            for (int i = 0; i < n; i++) {
                float l = ld[i];
                if (!(l >= 0 && l < classes) || l != Math.rint(l)) {
                    throw new IllegalArgumentException("loss: label " + i + " is " + l + ", expected a class index in [0, "
                            + classes + ")");
                }
            }
        }
        float invN = 1f / n;
        double lossSum = 0;
        long correct = 0;
        for (int i = 0; i < n; i++) {
            int o = i * k;
            int y = regression ? 0 : (int) ld[i];
            switch (kind) {
                case SOFTMAX_CROSS_ENTROPY -> {
                    float max = Float.NEGATIVE_INFINITY;
                    int arg = 0;
                    for (int j = 0; j < k; j++) {
                        if (od[o + j] > max) {
                            max = od[o + j];
                            arg = j;
                        }
                    }
                    double sum = 0;
                    for (int j = 0; j < k; j++) {
                        sum += Math.exp(od[o + j] - max);
                    }
                    double lse = max + Math.log(sum);
                    lossSum += lse - od[o + y];
                    if (arg == y) {
                        correct++;
                    }
                    if (gd != null) {
                        for (int j = 0; j < k; j++) {
                            float p = (float) Math.exp(od[o + j] - lse);
                            gd[o + j] = (p - (j == y ? 1f : 0f)) * invN;
                        }
                    }
                }
                case MULTICLASS_HINGE -> {
                    float sy = od[o + y];
                    double l = 0;
                    int active = 0;
                    int arg = argmax(od, o, k);
                    for (int j = 0; j < k; j++) {
                        if (j == y) {
                            continue;
                        }
                        float margin = od[o + j] - sy + 1f;
                        boolean on = margin > 0f;
                        if (on) {
                            l += margin;
                            active++;
                        }
                        if (gd != null) {
                            gd[o + j] = on ? invN : 0f;
                        }
                    }
                    if (gd != null) {
                        gd[o + y] = -active * invN;
                    }
                    lossSum += l;
                    if (arg == y) {
                        correct++;
                    }
                }
                case LOGISTIC -> {
                    float z = od[o];
                    boolean positive = y == 1;
                    double t = positive ? -z : z; // loss = softplus(t)
                    lossSum += Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t)));
                    if ((z > 0f) == positive) {
                        correct++;
                    }
                    if (gd != null) {
                        double sig = z >= 0 ? 1.0 / (1.0 + Math.exp(-z)) : Math.exp(z) / (1.0 + Math.exp(z));
                        gd[o] = (float) ((sig - (positive ? 1.0 : 0.0)) * invN);
                    }
                }
                case MSE -> {
                    double l = 0;
                    float gscale = 2f / (k * (float) n);
                    for (int j = 0; j < k; j++) {
                        float t = regression ? ld[i] : (j == y ? 1f : 0f);
                        float d = od[o + j] - t;
                        l += (double) d * d;
                        if (gd != null) {
                            gd[o + j] = d * gscale;
                        }
                    }
                    lossSum += l / k;
                    if (regression ? Math.round(od[o]) == ld[i] : argmax(od, o, k) == y) {
                        correct++;
                    }
                }
            }
        }
        st[2 * slot] += (float) lossSum;
        st[2 * slot + 1] += correct;
    }

    private static int argmax(float[] v, int o, int k) {
        int arg = 0;
        float max = v[o];
        for (int j = 1; j < k; j++) {
            if (v[o + j] > max) {
                max = v[o + j];
                arg = j;
            }
        }
        return arg;
    }

    // ---- optimizers -----------------------------------------------------------------------------------

    @Override
    public void sgdUpdate(Tensor w, Tensor g, Tensor velocity, float lr, float momentum, boolean nesterov,
                          float weightDecay) {
        float[] wd = data(w, "w"), gd = data(g, "g");
        sameSize("sgdUpdate", "g", g, "w", w);
        float[] vd;
        if (momentum != 0f) {
            vd = data(velocity, "velocity");
            sameSize("sgdUpdate", "velocity", velocity, "w", w);
        } else {
            vd = null;
        }
        parallel(wd.length, 4L * wd.length, (ci, from, to) -> {
            if (vd == null) {
                for (int i = from; i < to; i++) {
                    float gi = gd[i] + weightDecay * wd[i];
                    wd[i] -= lr * gi;
                }
            } else if (nesterov) {
                for (int i = from; i < to; i++) {
                    float gi = gd[i] + weightDecay * wd[i];
                    float v = momentum * vd[i] + gi;
                    vd[i] = v;
                    wd[i] -= lr * (gi + momentum * v);
                }
            } else {
                for (int i = from; i < to; i++) {
                    float gi = gd[i] + weightDecay * wd[i];
                    float v = momentum * vd[i] + gi;
                    vd[i] = v;
                    wd[i] -= lr * v;
                }
            }
        });
    }

    @Override
    public void rmspropUpdate(Tensor w, Tensor g, Tensor squareAvg, float lr, float alpha, float eps,
                              float weightDecay) {
        float[] wd = data(w, "w"), gd = data(g, "g"), sd = data(squareAvg, "squareAvg");
        sameSize("rmspropUpdate", "g", g, "w", w);
        sameSize("rmspropUpdate", "squareAvg", squareAvg, "w", w);
        parallel(wd.length, 8L * wd.length, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                float gi = gd[i] + weightDecay * wd[i];
                float s = alpha * sd[i] + (1f - alpha) * gi * gi;
                sd[i] = s;
                wd[i] -= lr * gi / ((float) Math.sqrt(s) + eps);
            }
        });
    }

    @Override
    public void adamUpdate(Tensor w, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                           float weightDecay, long step) {
        float[] wd = data(w, "w"), gd = data(g, "g"), md = data(m, "m"), vd = data(v, "v");
        sameSize("adamUpdate", "g", g, "w", w);
        sameSize("adamUpdate", "m", m, "w", w);
        sameSize("adamUpdate", "v", v, "w", w);
        if (step < 1) {
            throw new IllegalArgumentException("adamUpdate: step is 1-based, got " + step);
        }
        float c1 = (float) (1.0 - Math.pow(beta1, step));
        float c2 = (float) (1.0 - Math.pow(beta2, step));
        parallel(wd.length, 8L * wd.length, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                float gi = gd[i] + weightDecay * wd[i];
                float mi = beta1 * md[i] + (1f - beta1) * gi;
                float vi = beta2 * vd[i] + (1f - beta2) * gi * gi;
                md[i] = mi;
                vd[i] = vi;
                wd[i] -= lr * (mi / c1) / ((float) Math.sqrt(vi / c2) + eps);
            }
        });
    }
}
