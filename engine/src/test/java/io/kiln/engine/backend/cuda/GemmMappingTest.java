package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The row-major to column-major GEMM mapping, checked against a plain row-major product. */
class GemmMappingTest {
    @Test
    void everyTransposeCombinationMatchesTheRowMajorProduct() {
        SplittableRandom rng = new SplittableRandom(3);
        int[][] sizes = {{3, 5, 7}, {1, 4, 2}, {6, 1, 3}, {4, 4, 1}, {17, 9, 11}};
        for (int[] s : sizes) {
            int m = s[0], n = s[1], k = s[2];
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                float[] a = random(rng, m * k), b = random(rng, k * n), c = random(rng, m * n);
                float[] want = c.clone();
                float alpha = 1.25f, beta = 0.5f;
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        double sum = 0;
                        for (int p = 0; p < k; p++) {
                            float av = ta ? a[p * m + i] : a[i * k + p];
                            float bv = tb ? b[j * k + p] : b[p * n + j];
                            sum += (double) av * bv;
                        }
                        want[i * n + j] = (float) (alpha * sum) + beta * c[i * n + j];
                    }
                }
                GemmMapping g = GemmMapping.of(ta, tb, m, n, k);
                // what CudaBackend hands cuBLAS: (first = B, second = A) in column-major terms
                GemmMapping.referenceColumnMajor(g.firstTransposed(), g.secondTransposed(), g.m(), g.n(), g.k(), alpha,
                        b, g.ldFirst(), a, g.ldSecond(), beta, c, g.ldc());
                for (int i = 0; i < want.length; i++) {
                    assertEquals(want[i], c[i], 1e-4, "m=" + m + " n=" + n + " k=" + k + " transA=" + ta + " transB=" + tb
                            + " element " + i);
                }
            }
        }
    }

    @Test
    void leadingDimensionsAreThoseOfTheStoredMatrices() {
        GemmMapping g = GemmMapping.of(false, true, 100, 10, 784); // Dense forward: x [n, in] W^T
        assertEquals(true, g.firstTransposed());
        assertEquals(false, g.secondTransposed());
        assertEquals(10, g.m());
        assertEquals(100, g.n());
        assertEquals(784, g.ldFirst());
        assertEquals(784, g.ldSecond());
        assertEquals(10, g.ldc());
    }

    private static float[] random(SplittableRandom rng, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return a;
    }
}
