package io.kiln.engine.backend.cpu;

import java.util.Objects;

/**
 * Matrix products on arrays, split over the backend's threads: by k when k is long and C small (each task
 * packs only its share of op(B)), else by rows, else by columns; each task runs {@link Gemm}'s
 * single-threaded kernel on its tile. Holds the per-thread scratch (packed panels, im2col buffers) that the
 * convolutions share.
 */
final class ParallelGemm {
    private final ParallelLoops loops;
    private final Gemm.Kernel kernel;
    private final ThreadLocal<Gemm.Scratch> scratch = ThreadLocal.withInitial(Gemm.Scratch::new);

    ParallelGemm(ParallelLoops loops, Gemm.Kernel kernel) {
        this.loops = loops;
        this.kernel = Objects.requireNonNull(kernel, "kernel");
    }

    Gemm.Kernel kernel() {
        return kernel;
    }

    /** This thread's scratch buffers. */
    Gemm.Scratch scratch() {
        return scratch.get();
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
        int chunks = mayParallel ? loops.chunks(Math.max(Math.max(m, n), k), work / 4) : 1;
        if (chunks <= 1) {
            Gemm.tile(kernel, transA, m, n, k, alpha, a, aOff, b, beta, c, cOff, 0, m, 0, n, scratch.get());
        } else if (k >= 512 && k >= 4 * m && k >= 4 * n) {
            // long and thin (x W^T of a wide dense layer): split k, so that no task packs all of op(B); each
            // task sums its share of k, the first straight into C, the others into buffers added at the end
            int kChunks = Math.min(chunks, k / 256);
            float[][] partial = new float[kChunks][];
            loops.parallel(k, kChunks, 4, (ci, from, to) -> {
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
            loops.parallel(m, Math.min(chunks, (m + 3) / 4), 4, (ci, from, to) -> Gemm.tile(kernel, transA, m, n, k,
                    alpha, a, aOff, b, beta, c, cOff, from, to, 0, n, scratch.get()));
        } else {
            loops.parallel(n, chunks, 16, (ci, from, to) -> Gemm.tile(kernel, transA, m, n, k, alpha,
                    a, aOff, b, beta, c, cOff, 0, m, from, to, scratch.get()));
        }
    }
}
