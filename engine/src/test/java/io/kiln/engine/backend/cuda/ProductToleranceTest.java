package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.Precision;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * gpu-check's tolerance of matrix products against a simulated TF32 GEMM: gpu-check's 100x10x784 product with
 * operands rounded (or truncated) to TF32's 10 mantissa bits must pass with a margin (at most half the
 * tolerance), where the old fixed 1e-2 had none (its worst element, truncated, at 0.99 of it in this
 * simulation: a GPU's other summation order fails it); and products with a real fault must still fail.
 */
class ProductToleranceTest {
    private static final int M = 100, N = 10, K = 784;
    private static final float ALPHA = 1.5f;

    /** fp32 to TF32: 10 mantissa bits, rounded to nearest (ties away, as the tensor cores' cvt.rna) or truncated. */
    private static float tf32(float x, boolean truncate) {
        int bits = Float.floatToRawIntBits(x);
        if (!truncate) {
            bits += 1 << 12;
        }
        return Float.intBitsToFloat(bits & ~((1 << 13) - 1));
    }

    /** C = alpha * A B with fp32 accumulation, A [M, K], B [K, N], operands first passed through {@code round}. */
    private static float[] product(float[] a, float[] b, java.util.function.DoubleUnaryOperator round, int skipTerm) {
        float[] c = new float[M * N];
        for (int i = 0; i < M; i++) {
            for (int j = 0; j < N; j++) {
                float s = 0f;
                for (int p = 0; p < K; p++) {
                    if (p != skipTerm) {
                        s += (float) round.applyAsDouble(a[i * K + p]) * (float) round.applyAsDouble(b[p * N + j]);
                    }
                }
                c[i * N + j] = ALPHA * s;
            }
        }
        return c;
    }

    private static double[] reference(float[] a, float[] b) {
        double[] c = new double[M * N];
        for (int i = 0; i < M; i++) {
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int p = 0; p < K; p++) {
                    s += (double) a[i * K + p] * b[p * N + j];
                }
                c[i * N + j] = ALPHA * s;
            }
        }
        return c;
    }

    private static int failures(double[] want, float[] got, double atol, double rtol) {
        int f = 0;
        for (int i = 0; i < want.length; i++) {
            if (Math.abs(got[i] - want[i]) > atol + rtol * Math.abs(want[i])) {
                f++;
            }
        }
        return f;
    }

    /** The worst element's error as a fraction of its tolerance. */
    private static double worst(double[] want, float[] got, double atol, double rtol) {
        double w = 0;
        for (int i = 0; i < want.length; i++) {
            w = Math.max(w, Math.abs(got[i] - want[i]) / (atol + rtol * Math.abs(want[i])));
        }
        return w;
    }

    @Test
    void aCorrectTf32ProductPassesWhereTheFixedToleranceFailed() {
        ProductTolerance tol = ProductTolerance.of(Precision.TF32, K, ALPHA);
        double oldWorst = 0;
        for (long seed = 1; seed <= 5; seed++) {
            SplittableRandom rng = new SplittableRandom(seed);
            float[] a = new float[M * K], b = new float[K * N];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) (rng.nextDouble() * 2 - 1);
            }
            for (int i = 0; i < b.length; i++) {
                b[i] = (float) (rng.nextDouble() * 2 - 1);
            }
            double[] want = reference(a, b);
            for (boolean truncate : new boolean[] {false, true}) {
                float[] got = product(a, b, x -> tf32((float) x, truncate), -1);
                double w = worst(want, got, tol.atol(), tol.rtol());
                assertTrue(w <= 0.5, "seed " + seed + (truncate ? " truncated" : " rounded")
                        + ": a correct TF32 product reaches " + w + " of " + tol);
                oldWorst = Math.max(oldWorst, worst(want, got, 1e-2, 1e-2));
            }
            // a real fault: one of the 784 terms left out of every sum
            float[] wrong = product(a, b, x -> tf32((float) x, false), 17);
            assertTrue(failures(want, wrong, tol.atol(), tol.rtol()) > M * N / 10,
                    "seed " + seed + ": a product missing a term passes " + tol);
        }
        assertTrue(oldWorst > 0.9, "the old fixed 1e-2 tolerance had no margin for correct TF32 products: " + oldWorst);
    }

    @Test
    void fp32KeepsItsTightTolerance() {
        ProductTolerance t = ProductTolerance.of(Precision.FP32, K, ALPHA);
        assertEquals(1e-4, t.atol(), 1e-12);
        assertEquals(1e-4, t.rtol(), 1e-12);
        ProductTolerance big = ProductTolerance.of(Precision.FP32, 1L << 30, 10);
        assertTrue(big.atol() > 1e-4, "grows with sqrt(k) and the operands' size: " + big);
        assertTrue(ProductTolerance.of(Precision.TF32, 4 * K, ALPHA).atol()
                > 1.9 * ProductTolerance.of(Precision.TF32, K, ALPHA).atol(), "sqrt(4k) = 2 sqrt(k)");
    }
}
