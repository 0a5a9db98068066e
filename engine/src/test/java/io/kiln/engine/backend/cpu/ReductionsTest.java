package io.kiln.engine.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Both ways of {@link Reductions} against double-precision sums, on runs with and without a tail, at offsets. */
class ReductionsTest {
    private static final int[] LENGTHS = {0, 1, 7, 8, 15, 16, 17, 31, 64, 100, 1024, 1031};

    private interface Way {
        float[] of(float[] g, float[] x, int off, int len, float mean);
    }

    private static final Way SCALAR = (g, x, off, len, mean) -> new float[] {Reductions.scalarSum(g, off, len),
        Reductions.scalarSumSquaredDeviation(x, off, len, mean), Reductions.scalarDotDeviation(g, x, off, len, mean)};

    /** The vector sums, the sum and the dot from one pass, and the sum again on its own, which must agree. */
    private static final Way VECTOR = (g, x, off, len, mean) -> {
        float[] sums = new float[2];
        VectorReductions.sumAndDotDeviation(g, x, off, len, mean, sums);
        assertEquals(VectorReductions.sum(g, off, len), sums[0], "the one-pass sum is the sum");
        return new float[] {sums[0], VectorReductions.sumSquaredDeviation(x, off, len, mean), sums[1]};
    };

    @Test
    void scalarPartialSumsMatchDoubleSums() {
        check(SCALAR, "scalar");
    }

    @Test
    void vectorPartialSumsMatchDoubleSums() {
        Assumptions.assumeTrue(VectorSupport.enabled(), VectorSupport.describe());
        check(VECTOR, "vector");
    }

    private static void check(Way way, String name) {
        Random r = new Random(7);
        float[] g = new float[1100], x = new float[1100];
        for (int i = 0; i < g.length; i++) {
            g[i] = (float) r.nextGaussian();
            x[i] = 3f + (float) r.nextGaussian();
        }
        float mean = 3.1f;
        for (int len : LENGTHS) {
            for (int off : new int[] {0, 3, 40}) {
                double sum = 0, sq = 0, dot = 0, scale = 1e-30;
                for (int i = off; i < off + len; i++) {
                    sum += g[i];
                    sq += (x[i] - mean) * (double) (x[i] - mean);
                    dot += g[i] * (double) (x[i] - mean);
                    scale += Math.abs(g[i]) + Math.abs(x[i] - mean) * (1 + Math.abs(x[i] - mean) + Math.abs(g[i]));
                }
                float[] got = way.of(g, x, off, len, mean);
                String at = name + " len " + len + " off " + off;
                double tol = 1e-6 * scale;
                assertEquals(sum, got[0], tol, "sum, " + at);
                assertEquals(sq, got[1], tol, "sum of squared deviations, " + at);
                assertEquals(dot, got[2], tol, "dot of deviations, " + at);
            }
        }
    }
}
