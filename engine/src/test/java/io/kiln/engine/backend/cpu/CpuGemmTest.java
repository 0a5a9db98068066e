package io.kiln.engine.backend.cpu;

import static io.kiln.engine.backend.cpu.CpuTestSupport.assertClose;
import static io.kiln.engine.backend.cpu.CpuTestSupport.data;
import static io.kiln.engine.backend.cpu.CpuTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.tensor.Tensor;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** GEMM against a naive double-precision triple loop. */
class CpuGemmTest {
    private static final CpuBackend SERIAL = new CpuBackend(1);
    private static final CpuBackend PARALLEL = new CpuBackend(2);
    /** Every micro-kernel, serial and on two threads (the default one is the JVM's choice). */
    private static final CpuBackend[] ALL_KERNELS = allKernels();

    private static CpuBackend[] allKernels() {
        Gemm.Kernel[] kernels = Gemm.Kernel.values();
        CpuBackend[] out = new CpuBackend[2 * kernels.length];
        for (int i = 0; i < kernels.length; i++) {
            out[2 * i] = new CpuBackend(1, kernels[i]);
            out[2 * i + 1] = new CpuBackend(2, kernels[i]);
        }
        return out;
    }

    @AfterAll
    static void close() {
        SERIAL.close();
        PARALLEL.close();
        for (CpuBackend be : ALL_KERNELS) {
            be.close();
        }
    }

    /** Reference: returns the expected C and, per element, alpha * sum |a||b| + |beta c| for tolerances. */
    static double[][] reference(boolean ta, boolean tb, int m, int n, int k, float alpha, float[] a, float[] b,
                                float beta, float[] c) {
        double[] out = new double[m * n], scale = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0, abs = 0;
                for (int p = 0; p < k; p++) {
                    double av = ta ? a[p * m + i] : a[i * k + p];
                    double bv = tb ? b[j * k + p] : b[p * n + j];
                    s += av * bv;
                    abs += Math.abs(av * bv);
                }
                double prior = beta == 0 ? 0 : beta * (double) c[i * n + j];
                out[i * n + j] = alpha * s + prior;
                scale[i * n + j] = Math.abs(alpha) * abs + Math.abs(prior);
            }
        }
        return new double[][] {out, scale};
    }

    private static void check(CpuBackend be, boolean ta, boolean tb, int m, int n, int k, float alpha, float beta, long seed) {
        Random r = new Random(seed);
        float[] a = random(r, m * k), b = random(r, k * n), c = random(r, m * n);
        double[][] ref = reference(ta, tb, m, n, k, alpha, a, b, beta, c);
        Tensor ta_ = be.fromHost(a, ta ? new int[] {k, m} : new int[] {m, k});
        Tensor tb_ = be.fromHost(b, tb ? new int[] {n, k} : new int[] {k, n});
        Tensor tc = be.fromHost(c, m, n);
        be.gemm(ta, tb, m, n, k, alpha, ta_, tb_, beta, tc);
        String what = "gemm(" + ta + "," + tb + ", m=" + m + ", n=" + n + ", k=" + k + ", alpha=" + alpha + ", beta="
                + beta + ", " + be.name() + ", " + be.kernel() + ")";
        // fp32 summation of k products: the classic bound is k * 2^-24 relative to sum |a b| (plus |beta c|)
        assertClose(what, ref[0], data(tc), ref[1], 2e-7 * k + 1e-6, 1e-6);
        // inputs untouched
        assertTrue(Arrays.equals(a, data(ta_)) && Arrays.equals(b, data(tb_)), what + " modified an input");
    }

    @Test
    void allTransposesAndBetasMatchReference() {
        // edges of the 4-row groups, of k blocks (128) and column blocks (768), tiny and empty-ish shapes
        int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {4, 8, 4}, {17, 33, 9}, {9, 2, 31}, {13, 300, 5}, {70, 20, 260},
            {6, 1700, 130}, {5, 9, 513}, {100, 10, 100}, {10, 100, 100}, {2, 3, 129},
            {7, 50, 2100}}; // long k: split over the threads
        long seed = 1;
        for (int[] s : shapes) {
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    for (float beta : new float[] {0f, 1f, 0.5f}) {
                        for (CpuBackend be : ALL_KERNELS) {
                            check(be, ta, tb, s[0], s[1], s[2], beta == 0.5f ? -0.75f : 1f, beta, seed++);
                        }
                    }
                }
            }
        }
    }

    @Test
    void largeShapesOfTheMlpMatchReference() {
        // the three products of a dense layer 784 -> 100 at batch 100, on both thread counts
        for (CpuBackend be : ALL_KERNELS) {
            check(be, false, true, 100, 100, 784, 1f, 0f, 11);   // y = x W^T
            check(be, true, false, 100, 784, 100, 1f, 1f, 12);   // dW += dy^T x
            check(be, false, false, 100, 784, 100, 1f, 0f, 13);  // dx = dy W
            check(be, true, true, 1030, 129, 300, 1f, 0f, 14); // more than one slice of 512 rows
            check(be, false, true, 100, 128, 9216, 1f, 1f, 15); // a wide dense layer: k split over the threads
        }
    }

    @Test
    void betaZeroIgnoresNanInC() {
        for (CpuBackend be : ALL_KERNELS) {
            for (boolean ta : new boolean[] {false, true}) {
                for (boolean tb : new boolean[] {false, true}) {
                    Random r = new Random(7);
                    int m = 37, n = 300, k = 270;
                    float[] a = random(r, m * k), b = random(r, k * n), c = new float[m * n];
                    Arrays.fill(c, Float.NaN);
                    double[][] ref = reference(ta, tb, m, n, k, 1f, a, b, 0f, c);
                    Tensor tc = be.fromHost(c, m, n);
                    be.gemm(ta, tb, m, n, k, 1f, be.fromHost(a, m * k), be.fromHost(b, k * n), 0f, tc);
                    for (float v : data(tc)) {
                        assertFalse(Float.isNaN(v), "NaN in C leaked through beta == 0");
                    }
                    assertClose("gemm beta=0 over NaN", ref[0], data(tc), ref[1], 1e-4, 1e-6);
                }
            }
            // k == 0 and alpha == 0 with beta == 0 also write zeros without reading C
            Tensor c = be.fromHost(new float[] {Float.NaN, Float.NaN, Float.NaN, Float.NaN}, 2, 2);
            be.gemm(false, false, 2, 2, 0, 1f, be.allocate(0), be.allocate(0), 0f, c);
            assertTrue(Arrays.equals(new float[4], data(c)));
        }
    }

    @Test
    void rejectsMismatchedSizes() {
        Tensor a = SERIAL.allocate(3, 4), b = SERIAL.allocate(4, 5), c = SERIAL.allocate(3, 5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SERIAL.gemm(false, false, 3, 5, 5, 1f, a, b, 0f, c));
        assertTrue(e.getMessage().contains("[3, 4]") && e.getMessage().contains("A"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SERIAL.gemm(false, false, 3, 6, 4, 1f, a, b, 0f, c));
        assertTrue(e.getMessage().contains("[4, 5]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SERIAL.gemm(false, false, 3, 5, 4, 1f, a, b, 0f, a));
        assertThrows(IllegalArgumentException.class, () -> SERIAL.gemm(false, false, 3, 4, 3, 1f, a, SERIAL.allocate(3, 4), 0f, a));
    }
}
