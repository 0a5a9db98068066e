package io.kiln.engine.backend.cpu;

import java.lang.management.ManagementFactory;
import java.util.Arrays;

/**
 * Single-threaded row-major SGEMM on plain arrays: C = alpha * op(A) * op(B) + beta * C over a tile of C.
 *
 * <p>Organisation (see {@code docs/cpu-backend.md}): rows of C go in slices of {@link #MC}, k in blocks of
 * at most {@link #KC_MAX} and the columns of C in blocks of at most {@link #NC_MAX}, blocks split evenly.
 * For each k block, alpha * op(A) of the slice is packed 4 rows at a time (absorbing transA); for each
 * column block the panel of op(B) is packed into separate row arrays of length nc (absorbing transB, any
 * offset, or im2col for a convolution: {@link BPanel}), zero-padded to a multiple of 4 rows. A micro-kernel
 * then updates 4 rows of C held in 4 scratch arrays; its inner loop runs over j with every array indexed by
 * the same j, e.g. {@code acc_r[j] = fma(a_r3, b3[j], fma(a_r2, b2[j], fma(a_r1, b1[j], fma(a_r0, b0[j],
 * acc_r[j]))))} for the 4 rows r, which C2's superword pass turns into AVX2 FMA code (a loop that mixes
 * offsets into arrays that might alias is not vectorised, hence the scratch rows). The scratch rows start
 * as beta * C for the first k block (zeros without reading C when beta == 0), as C after that, and go
 * back with System.arraycopy.
 *
 * <p>Which micro-kernel vectorises well depends on the JIT (the loop must stay under C2's unrolling node
 * budget), so one is chosen per JVM: {@link Kernel#FMA_4X4} on JDK 25 and later (measured),
 * {@link Kernel#FMA_4X2} before (the one that vectorised on JDK 17 too; JDK 21 itself was not at hand),
 * {@link Kernel#MUL_ADD_1X4} where Math.fma is not a hardware instruction (it would be slow software).
 * The system property {@code kiln.cpu.kernel} overrides the choice.
 */
final class Gemm {
    /** Largest column block (length of the vectorised inner loop). */
    static final int NC_MAX = Math.max(8, Integer.getInteger("kiln.cpu.nc", 768));
    /** Rows of C per slice (a multiple of 4): the packed piece of A is at most MC x KC_MAX. */
    static final int MC = 512;
    /** Largest depth of a packed panel. */
    static final int KC_MAX = Math.max(4, Integer.getInteger("kiln.cpu.kc", 128) + 3 & ~3);

    enum Kernel {
        /** 4 rows x 4 k per pass, Math.fma. */
        FMA_4X4,
        /** 4 rows x 2 k per pass, Math.fma. */
        FMA_4X2,
        /** 1 row x 4 k per pass, multiply and add (for JVMs without fused multiply-add hardware). */
        MUL_ADD_1X4
    }

    static final Kernel DEFAULT_KERNEL = chooseKernel();

    /**
     * Where op(B) comes from: packs rows [pb, pb + kcb) and columns [jb, jb + ncb) of op(B) into
     * {@code panel[pp][jj]}. A plain matrix is {@link MatrixB}; convolutions pack straight from the
     * image (im2col fused into the packing).
     */
    interface BPanel {
        void pack(int pb, int kcb, int jb, int ncb, float[][] panel);
    }

    /** op(B) of a row-major matrix at bOff: [k, n], or [n, k] read transposed. */
    record MatrixB(boolean transB, int n, int k, float[] b, int bOff) implements BPanel {
        @Override
        public void pack(int pb, int kcb, int jb, int ncb, float[][] panel) {
            packB(transB, n, k, b, bOff, pb, kcb, jb, ncb, panel);
        }
    }

    private Gemm() {
    }

    private static Kernel chooseKernel() {
        String forced = System.getProperty("kiln.cpu.kernel");
        if (forced != null) {
            return Kernel.valueOf(forced.trim().toUpperCase(java.util.Locale.ROOT));
        }
        if (!hardwareFma()) {
            return Kernel.MUL_ADD_1X4;
        }
        return Runtime.version().feature() >= 25 ? Kernel.FMA_4X4 : Kernel.FMA_4X2;
    }

    /** Whether HotSpot compiles Math.fma to an instruction (UseFMA); false when that cannot be told. */
    private static boolean hardwareFma() {
        try {
            com.sun.management.HotSpotDiagnosticMXBean bean =
                    ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            return bean != null && Boolean.parseBoolean(bean.getVMOption("UseFMA").getValue());
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    /** Per-thread scratch: the packed panels, the accumulator rows and a buffer for im2col. */
    static final class Scratch {
        float[][] panel = new float[0][];
        int panelWidth;
        float[] apack = new float[0];
        float[] acc0 = new float[0], acc1 = acc0, acc2 = acc0, acc3 = acc0;
        private float[] col = new float[0];
        private float[] out = new float[0];
        private float[][] partials = new float[0][];
        private float[] packedFilters = new float[0];
        private float[] padded = new float[0];
        private int[] taps = new int[0];
        private int[] positions = new int[0];

        /** Ensures kcp panel rows and 4 accumulators of at least nc floats, and an A pack of apSize. */
        void ensure(int kcp, int nc, int apSize) {
            if (panel.length < kcp || panelWidth < nc) {
                int rows = Math.max(kcp, panel.length), width = Math.max(nc, panelWidth);
                panel = new float[rows][width];
                panelWidth = width;
            }
            if (acc0.length < nc) {
                acc0 = new float[nc];
                acc1 = new float[nc];
                acc2 = new float[nc];
                acc3 = new float[nc];
            }
            if (apack.length < apSize) {
                apack = new float[apSize];
            }
        }

        /** A reusable buffer of at least {@code size} floats (contents undefined). */
        float[] col(int size) {
            return col = col.length < size ? new float[size] : col;
        }

        /** count reusable buffers of at least {@code size} floats each (contents undefined). */
        float[][] partials(int count, int size) {
            if (partials.length < count) {
                partials = Arrays.copyOf(partials, count);
            }
            for (int i = 0; i < count; i++) {
                if (partials[i] == null || partials[i].length < size) {
                    partials[i] = new float[size];
                }
            }
            return partials;
        }

        /** A reusable buffer for filters in tiles of four ({@link VectorConvolution#packFilters}), used by none of the others. */
        float[] packedFilters(int size) {
            return packedFilters = packedFilters.length < size ? new float[size] : packedFilters;
        }

        /** A reusable buffer for a zero-padded image ({@link VectorConvolution}), used by none of the others. */
        float[] padded(int size) {
            return padded = padded.length < size ? new float[size] : padded;
        }

        /** A reusable array of at least {@code size} tap offsets ({@link VectorConvolution}). */
        int[] taps(int size) {
            return taps = taps.length < size ? new int[size] : taps;
        }

        /** A reusable array of at least {@code size} pixel positions ({@link VectorConvolution#pixelPositions}). */
        int[] positions(int size) {
            return positions = positions.length < size ? new int[size] : positions;
        }

        /** A second reusable buffer, distinct from {@link #col}, of at least {@code size} floats. */
        float[] out(int size) {
            return out = out.length < size ? new float[size] : out;
        }
    }

    /**
     * Computes rows [i0, i1) and columns [j0, j1) of C = alpha op(A) op(B) + beta C, where A starts at
     * aOff and is [m, k] ([k, m] when transA), op(B) is [k, n] as packed by b, and C starts at cOff and
     * is [m, n]. Requires k > 0.
     */
    static void tile(Kernel kernel, boolean transA, int m, int n, int k, float alpha,
                     float[] a, int aOff, BPanel b, float beta, float[] c, int cOff,
                     int i0, int i1, int j0, int j1, Scratch s) {
        tile(kernel, transA, m, n, k, transA ? m : k, alpha, a, aOff, b, beta, c, cOff, i0, i1, j0, j1, s);
    }

    /**
     * The same with the row stride of the stored A given: A is [m, lda] (or [k, lda] when transA), of
     * which the first k columns (m with transA) are used; for a product over part of a longer k.
     */
    static void tile(Kernel kernel, boolean transA, int m, int n, int k, int lda, float alpha,
                     float[] a, int aOff, BPanel b, float beta, float[] c, int cOff,
                     int i0, int i1, int j0, int j1, Scratch s) {
        // rows in slices of MC, which bounds the packed A (MC x KC) whatever m is
        for (int ic = i0; ic < i1; ic += MC) {
            rows(kernel, transA, lda, n, k, alpha, a, aOff, b, beta, c, cOff, ic, Math.min(i1, ic + MC), j0, j1, s);
        }
    }

    private static void rows(Kernel kernel, boolean transA, int lda, int n, int k, float alpha,
                             float[] a, int aOff, BPanel b, float beta, float[] c, int cOff,
                             int i0, int i1, int j0, int j1, Scratch s) {
        int width = j1 - j0;
        int nBlocks = (width + NC_MAX - 1) / NC_MAX;
        int ncStep = ((width + nBlocks - 1) / nBlocks + 7) & ~7;
        int kBlocks = (k + KC_MAX - 1) / KC_MAX;
        int kcStep = ((k + kBlocks - 1) / kBlocks + 3) & ~3;
        int rowBlocks = (i1 - i0 + 3) / 4;
        s.ensure(kcStep, Math.min(ncStep, width), rowBlocks * 4 * kcStep);
        float[][] panel = s.panel;
        float[] ap = s.apack;
        float[] acc0 = s.acc0, acc1 = s.acc1, acc2 = s.acc2, acc3 = s.acc3;
        for (int pb = 0; pb < k; pb += kcStep) {
            int kcb = Math.min(kcStep, k - pb);
            int kcp = (kcb + 3) & ~3;
            // op(A) for every row of the tile, times alpha, in groups of 4 rows: ap[(blk * kcp + pp) * 4 + r]
            packA(transA, lda, alpha, a, aOff, i0, i1, pb, kcb, kcp, ap);
            boolean first = pb == 0;
            for (int jb = j0; jb < j1; jb += ncStep) {
                int ncb = Math.min(ncStep, j1 - jb);
                b.pack(pb, kcb, jb, ncb, panel);
                for (int pp = kcb; pp < kcp; pp++) {
                    Arrays.fill(panel[pp], 0, ncb, 0f);
                }
                for (int blk = 0; blk < rowBlocks; blk++) {
                    int i = i0 + 4 * blk;
                    int rows = Math.min(4, i1 - i);
                    int o = cOff + i * n + jb;
                    int apOff = blk * kcp * 4;
                    loadC(c, o, ncb, beta, first, acc0);
                    if (rows > 1) {
                        loadC(c, o + n, ncb, beta, first, acc1);
                    }
                    if (rows > 2) {
                        loadC(c, o + 2 * n, ncb, beta, first, acc2);
                    }
                    if (rows > 3) {
                        loadC(c, o + 3 * n, ncb, beta, first, acc3);
                    }
                    if (rows == 4) {
                        switch (kernel) {
                            case FMA_4X4 -> fma4x4(panel, kcp, ncb, ap, apOff, acc0, acc1, acc2, acc3);
                            case FMA_4X2 -> fma4x2(panel, kcp, ncb, ap, apOff, acc0, acc1, acc2, acc3);
                            case MUL_ADD_1X4 -> {
                                mulAdd1x4(panel, kcp, ncb, ap, apOff, acc0);
                                mulAdd1x4(panel, kcp, ncb, ap, apOff + 1, acc1);
                                mulAdd1x4(panel, kcp, ncb, ap, apOff + 2, acc2);
                                mulAdd1x4(panel, kcp, ncb, ap, apOff + 3, acc3);
                            }
                        }
                    } else {
                        for (int r = 0; r < rows; r++) {
                            float[] acc = r == 0 ? acc0 : r == 1 ? acc1 : acc2;
                            if (kernel == Kernel.MUL_ADD_1X4) {
                                mulAdd1x4(panel, kcp, ncb, ap, apOff + r, acc);
                            } else {
                                fma1x4(panel, kcp, ncb, ap, apOff + r, acc);
                            }
                        }
                    }
                    System.arraycopy(acc0, 0, c, o, ncb);
                    if (rows > 1) {
                        System.arraycopy(acc1, 0, c, o + n, ncb);
                    }
                    if (rows > 2) {
                        System.arraycopy(acc2, 0, c, o + 2 * n, ncb);
                    }
                    if (rows > 3) {
                        System.arraycopy(acc3, 0, c, o + 3 * n, ncb);
                    }
                }
            }
        }
    }

    /** acc = the starting value of a row piece of C: beta * C for the first k block (0 without reading C when beta == 0), else C. */
    private static void loadC(float[] c, int o, int len, float beta, boolean first, float[] acc) {
        if (!first || beta == 1f) {
            System.arraycopy(c, o, acc, 0, len);
        } else if (beta == 0f) {
            Arrays.fill(acc, 0, len, 0f);
        } else {
            for (int j = 0; j < len; j++) {
                acc[j] = beta * c[o + j];
            }
        }
    }

    /** panel[pp][jj] = op(B)[pb + pp][jb + jj] for pp < kcb, jj < ncb. */
    static void packB(boolean transB, int n, int k, float[] b, int bOff, int pb, int kcb, int jb, int ncb,
                              float[][] panel) {
        if (!transB) {
            for (int pp = 0; pp < kcb; pp++) {
                System.arraycopy(b, bOff + (pb + pp) * n + jb, panel[pp], 0, ncb);
            }
        } else {
            // B is stored [n, k]: read along k (contiguous), eight panel rows at a time; the few rows left over
            // (kcb % 8, at most 7 of a block of up to KC_MAX) one at a time
            int pp = 0;
            for (; pp + 8 <= kcb; pp += 8) {
                float[] r0 = panel[pp], r1 = panel[pp + 1], r2 = panel[pp + 2], r3 = panel[pp + 3];
                float[] r4 = panel[pp + 4], r5 = panel[pp + 5], r6 = panel[pp + 6], r7 = panel[pp + 7];
                int base = bOff + jb * k + pb + pp;
                for (int jj = 0; jj < ncb; jj++) {
                    int o = base + jj * k;
                    r0[jj] = b[o];
                    r1[jj] = b[o + 1];
                    r2[jj] = b[o + 2];
                    r3[jj] = b[o + 3];
                    r4[jj] = b[o + 4];
                    r5[jj] = b[o + 5];
                    r6[jj] = b[o + 6];
                    r7[jj] = b[o + 7];
                }
            }
            for (; pp < kcb; pp++) {
                float[] r = panel[pp];
                int base = bOff + jb * k + pb + pp;
                for (int jj = 0; jj < ncb; jj++) {
                    r[jj] = b[base + jj * k];
                }
            }
        }
    }

    /** ap[(blk * kcp + pp) * 4 + r] = alpha * op(A)[i0 + 4 blk + r][pb + pp], zero past the rows or kcb. */
    private static void packA(boolean transA, int lda, float alpha, float[] a, int aOff, int i0, int i1, int pb,
                              int kcb, int kcp, float[] ap) {
        int rowBlocks = (i1 - i0 + 3) / 4;
        for (int blk = 0; blk < rowBlocks; blk++) {
            int i = i0 + 4 * blk, rows = Math.min(4, i1 - i), base = blk * kcp * 4;
            if (rows < 4 || kcb < kcp) {
                Arrays.fill(ap, base, base + kcp * 4, 0f);
            }
            if (transA) {
                int o = aOff + pb * lda + i;
                for (int pp = 0; pp < kcb; pp++, o += lda) {
                    int q = base + pp * 4;
                    for (int r = 0; r < rows; r++) {
                        ap[q + r] = alpha * a[o + r];
                    }
                }
            } else if (rows == 4) {
                int o0 = aOff + i * lda + pb, o1 = o0 + lda, o2 = o1 + lda, o3 = o2 + lda;
                for (int pp = 0; pp < kcb; pp++) {
                    int q = base + pp * 4;
                    ap[q] = alpha * a[o0 + pp];
                    ap[q + 1] = alpha * a[o1 + pp];
                    ap[q + 2] = alpha * a[o2 + pp];
                    ap[q + 3] = alpha * a[o3 + pp];
                }
            } else {
                for (int r = 0; r < rows; r++) {
                    int o = aOff + (i + r) * lda + pb;
                    int q = base + r;
                    for (int pp = 0; pp < kcb; pp++) {
                        ap[q + pp * 4] = alpha * a[o + pp];
                    }
                }
            }
        }
    }

    static void fma4x4(float[][] panel, int kcp, int ncb, float[] ap, int apOff,
                       float[] c0, float[] c1, float[] c2, float[] c3) {
        for (int pp = 0; pp < kcp; pp += 4) {
            int q = apOff + pp * 4;
            float a00 = ap[q], a10 = ap[q + 1], a20 = ap[q + 2], a30 = ap[q + 3];
            float a01 = ap[q + 4], a11 = ap[q + 5], a21 = ap[q + 6], a31 = ap[q + 7];
            float a02 = ap[q + 8], a12 = ap[q + 9], a22 = ap[q + 10], a32 = ap[q + 11];
            float a03 = ap[q + 12], a13 = ap[q + 13], a23 = ap[q + 14], a33 = ap[q + 15];
            float[] b0 = panel[pp], b1 = panel[pp + 1], b2 = panel[pp + 2], b3 = panel[pp + 3];
            for (int j = 0; j < ncb; j++) {
                float x0 = b0[j], x1 = b1[j], x2 = b2[j], x3 = b3[j];
                c0[j] = Math.fma(a03, x3, Math.fma(a02, x2, Math.fma(a01, x1, Math.fma(a00, x0, c0[j]))));
                c1[j] = Math.fma(a13, x3, Math.fma(a12, x2, Math.fma(a11, x1, Math.fma(a10, x0, c1[j]))));
                c2[j] = Math.fma(a23, x3, Math.fma(a22, x2, Math.fma(a21, x1, Math.fma(a20, x0, c2[j]))));
                c3[j] = Math.fma(a33, x3, Math.fma(a32, x2, Math.fma(a31, x1, Math.fma(a30, x0, c3[j]))));
            }
        }
    }

    static void fma4x2(float[][] panel, int kcp, int ncb, float[] ap, int apOff,
                       float[] c0, float[] c1, float[] c2, float[] c3) {
        for (int pp = 0; pp < kcp; pp += 2) {
            int q = apOff + pp * 4;
            float a00 = ap[q], a10 = ap[q + 1], a20 = ap[q + 2], a30 = ap[q + 3];
            float a01 = ap[q + 4], a11 = ap[q + 5], a21 = ap[q + 6], a31 = ap[q + 7];
            float[] b0 = panel[pp], b1 = panel[pp + 1];
            for (int j = 0; j < ncb; j++) {
                float x0 = b0[j], x1 = b1[j];
                c0[j] = Math.fma(a01, x1, Math.fma(a00, x0, c0[j]));
                c1[j] = Math.fma(a11, x1, Math.fma(a10, x0, c1[j]));
                c2[j] = Math.fma(a21, x1, Math.fma(a20, x0, c2[j]));
                c3[j] = Math.fma(a31, x1, Math.fma(a30, x0, c3[j]));
            }
        }
    }

    static void fma1x4(float[][] panel, int kcp, int ncb, float[] ap, int apOff, float[] c0) {
        for (int pp = 0; pp < kcp; pp += 4) {
            int q = apOff + pp * 4;
            float a0 = ap[q], a1 = ap[q + 4], a2 = ap[q + 8], a3 = ap[q + 12];
            float[] b0 = panel[pp], b1 = panel[pp + 1], b2 = panel[pp + 2], b3 = panel[pp + 3];
            for (int j = 0; j < ncb; j++) {
                c0[j] = Math.fma(a3, b3[j], Math.fma(a2, b2[j], Math.fma(a1, b1[j], Math.fma(a0, b0[j], c0[j]))));
            }
        }
    }

    static void mulAdd1x4(float[][] panel, int kcp, int ncb, float[] ap, int apOff, float[] c0) {
        for (int pp = 0; pp < kcp; pp += 4) {
            int q = apOff + pp * 4;
            float a0 = ap[q], a1 = ap[q + 4], a2 = ap[q + 8], a3 = ap[q + 12];
            float[] b0 = panel[pp], b1 = panel[pp + 1], b2 = panel[pp + 2], b3 = panel[pp + 3];
            for (int j = 0; j < ncb; j++) {
                c0[j] += a0 * b0[j] + a1 * b1[j] + a2 * b2[j] + a3 * b3[j];
            }
        }
    }

    /** C = beta * C over len elements (beta == 0 writes zeros without reading). */
    static void scaleC(float beta, float[] c, int off, int len) {
        if (beta == 0f) {
            Arrays.fill(c, off, off + len, 0f);
        } else if (beta != 1f) {
            for (int i = off; i < off + len; i++) {
                c[i] *= beta;
            }
        }
    }
}
