package io.kiln.engine.backend.cpu;

import static io.kiln.engine.backend.cpu.CpuTestSupport.assertClose;
import static io.kiln.engine.backend.cpu.CpuTestSupport.data;
import static io.kiln.engine.backend.cpu.CpuTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.LossKind;
import io.kiln.engine.tensor.Tensor;

import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Softmax, the fused losses (value, gradient, correct count) and the optimizer updates. */
class CpuLossOptimizerTest {
    private static final CpuBackend BE = new CpuBackend(2);

    @AfterAll
    static void close() {
        BE.close();
    }

    @Test
    void softmaxRowsSumToOneAndMatchDefinition() {
        Random r = new Random(5);
        int n = 7, k = 13;
        float[] s = random(r, n * k);
        s[3] = 80f; // large values must not overflow
        double[] e = new double[n * k];
        for (int i = 0; i < n; i++) {
            double sum = 0;
            for (int j = 0; j < k; j++) {
                sum += Math.exp(s[i * k + j]);
            }
            for (int j = 0; j < k; j++) {
                e[i * k + j] = Math.exp(s[i * k + j]) / sum;
            }
        }
        Tensor p = BE.allocate(n, k);
        BE.softmax(BE.fromHost(s, n, k), p);
        assertClose("softmax", e, data(p), 1e-5, 1e-7);
    }

    /** Per-sample loss and correctness from the definitions in {@link LossKind}. */
    private static double refLoss(LossKind kind, float[] s, int o, int k, float label) {
        int y = (int) label;
        if (kind == LossKind.TEMPORAL_SOFTMAX && y == 0) {
            return 0; // <NULL> padding counts for nothing
        }
        switch (kind) {
            case SOFTMAX_CROSS_ENTROPY, TEMPORAL_SOFTMAX -> {
                double sum = 0;
                for (int j = 0; j < k; j++) {
                    sum += Math.exp(s[o + j]);
                }
                return Math.log(sum) - s[o + y];
            }
            case MULTICLASS_HINGE -> {
                double l = 0;
                for (int j = 0; j < k; j++) {
                    if (j != y) {
                        l += Math.max(0, s[o + j] - s[o + y] + 1);
                    }
                }
                return l;
            }
            case LOGISTIC -> {
                double z = s[o];
                return y == 1 ? Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
            }
            case MSE -> {
                double l = 0;
                for (int j = 0; j < k; j++) {
                    double t = k == 1 ? label : (j == y ? 1 : 0);
                    l += (s[o + j] - t) * (s[o + j] - t);
                }
                return l / k;
            }
            default -> throw new AssertionError();
        }
    }

    private static boolean refCorrect(LossKind kind, float[] s, int o, int k, float label) {
        if (kind == LossKind.TEMPORAL_SOFTMAX && label == 0f) {
            return false;
        }
        if (kind == LossKind.LOGISTIC) {
            return (s[o] > 0) == (label == 1f);
        }
        if (kind == LossKind.MSE && k == 1) {
            return Math.round(s[o]) == label;
        }
        int arg = 0;
        for (int j = 1; j < k; j++) {
            if (s[o + j] > s[o + arg]) {
                arg = j;
            }
        }
        return arg == (int) label;
    }

    /** Mean loss as the backend computes it (evaluation: no gradient). */
    private static double backendMeanLoss(LossKind kind, float[] s, int n, int k, float[] labels) {
        Tensor stats = BE.allocate(2);
        BE.loss(kind, BE.fromHost(s, n, k), BE.fromHost(labels, n), null, stats, 0);
        return data(stats)[0] / (double) n;
    }

    @Test
    void lossesValueCorrectCountAndNumericalGradient() {
        int n = 6;
        long seed = 9;
        for (LossKind kind : LossKind.values()) {
            for (int k : kind == LossKind.LOGISTIC ? new int[] {1} : kind == LossKind.MSE ? new int[] {1, 5} : new int[] {2, 5}) {
                Random r = new Random(seed++);
                float[] s = new float[n * k], labels = new float[n];
                for (int i = 0; i < n; i++) {
                    labels[i] = kind == LossKind.MSE && k == 1 ? (float) Math.round(r.nextGaussian() * 2)
                            : r.nextInt(kind == LossKind.LOGISTIC ? 2 : k);
                    for (int j = 0; j < k; j++) {
                        // keep hinge margins away from their kink so central differences are valid
                        float v;
                        do {
                            v = (float) (r.nextGaussian() * 1.5);
                            s[i * k + j] = v;
                        } while (kind == LossKind.MULTICLASS_HINGE && nearKink(s, i * k, k, (int) labels[i], j));
                    }
                }
                if (kind == LossKind.MULTICLASS_HINGE) {
                    // the label score was drawn before later classes: recheck all margins of every row
                    for (int i = 0; i < n; i++) {
                        for (int j = 0; j < k; j++) {
                            if (j != (int) labels[i]) {
                                float margin = s[i * k + j] - s[i * k + (int) labels[i]] + 1;
                                if (Math.abs(margin) < 0.05f) {
                                    s[i * k + j] += 0.2f;
                                }
                            }
                        }
                    }
                }
                double expected = 0;
                int correct = 0;
                for (int i = 0; i < n; i++) {
                    expected += refLoss(kind, s, i * k, k, labels[i]);
                    correct += refCorrect(kind, s, i * k, k, labels[i]) ? 1 : 0;
                }
                Tensor stats = BE.fromHost(new float[] {100f, 100f, 1.5f, 2f}, 4);
                Tensor grad = BE.allocate(n, k);
                BE.fill(grad, Float.NaN);
                Tensor out = BE.fromHost(s, n, k);
                BE.loss(kind, out, BE.fromHost(labels, n), grad, stats, 1);
                String what = kind + " k=" + k;
                assertEquals(100f, data(stats)[0], what + " slot 0 untouched");
                assertEquals(100f, data(stats)[1], what + " slot 0 untouched");
                assertEquals(1.5 + expected, data(stats)[2], 1e-5 * (1 + expected), what + " loss sum accumulated");
                assertEquals(2f + correct, data(stats)[3], what + " correct count accumulated");
                assertArrayEquals(s, data(out), what + " output untouched");

                double h = 1e-2;
                for (int i = 0; i < n * k; i++) {
                    float keep = s[i];
                    s[i] = (float) (keep + h);
                    double lp = backendMeanLoss(kind, s, n, k, labels);
                    s[i] = (float) (keep - h);
                    double lm = backendMeanLoss(kind, s, n, k, labels);
                    s[i] = keep;
                    double num = (lp - lm) / (2 * h);
                    assertEquals(num, data(grad)[i], 3e-4, what + " gradient " + i);
                }
            }
        }
    }

    private static boolean nearKink(float[] s, int o, int k, int y, int j) {
        // margins involving entries drawn so far
        for (int q = 0; q <= j; q++) {
            if (q != y && y <= j && Math.abs(s[o + q] - s[o + y] + 1) < 0.05f) {
                return true;
            }
        }
        return false;
    }

    @Test
    void lossRejectsBadArguments() {
        Tensor stats = BE.allocate(2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BE.loss(LossKind.SOFTMAX_CROSS_ENTROPY,
                BE.allocate(4, 3), BE.fromHost(new float[] {0, 1, 3, 2}, 4), null, stats, 0));
        assertTrue(e.getMessage().contains("label 2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BE.loss(LossKind.SOFTMAX_CROSS_ENTROPY,
                BE.allocate(4, 3), BE.allocate(5), null, stats, 0));
        assertThrows(IllegalArgumentException.class, () -> BE.loss(LossKind.LOGISTIC,
                BE.allocate(4, 2), BE.allocate(4), null, stats, 0));
        assertThrows(IllegalArgumentException.class, () -> BE.loss(LossKind.MSE,
                BE.allocate(4, 2), BE.allocate(4), null, stats, 1));
        assertThrows(IllegalArgumentException.class, () -> BE.loss(LossKind.MSE,
                BE.allocate(4, 2), BE.allocate(4), BE.allocate(4, 3), stats, 0));
    }

    // ---- optimizers -----------------------------------------------------------------------------------

    private static final int SIZE = 300_001; // large enough to run in parallel, odd

    @Test
    void sgdMatchesScalarLoop() {
        for (float momentum : new float[] {0f, 0.9f}) {
            for (boolean nesterov : new boolean[] {false, true}) {
                Random r = new Random(1);
                float[] w = random(r, SIZE), v = new float[SIZE];
                Tensor tw = BE.fromHost(w, SIZE), tv = momentum == 0f ? null : BE.allocate(SIZE);
                float lr = 0.05f, wdecay = 1e-3f;
                for (int step = 0; step < 3; step++) {
                    float[] g = random(r, SIZE);
                    for (int i = 0; i < SIZE; i++) {
                        float gi = g[i] + wdecay * w[i];
                        if (momentum == 0f) {
                            w[i] -= lr * gi;
                        } else {
                            v[i] = momentum * v[i] + gi;
                            w[i] -= lr * (nesterov ? gi + momentum * v[i] : v[i]);
                        }
                    }
                    BE.sgdUpdate(tw, BE.fromHost(g, SIZE), tv, lr, momentum, nesterov, wdecay);
                }
                assertClose("sgd w momentum=" + momentum + " nesterov=" + nesterov, w, data(tw), 1e-6, 1e-7);
                if (tv != null) {
                    assertClose("sgd velocity", v, data(tv), 1e-6, 1e-7);
                }
            }
        }
    }

    @Test
    void rmspropMatchesScalarLoop() {
        Random r = new Random(2);
        float[] w = random(r, SIZE), s = new float[SIZE];
        Tensor tw = BE.fromHost(w, SIZE), ts = BE.allocate(SIZE);
        float lr = 0.01f, alpha = 0.99f, eps = 1e-8f, wdecay = 1e-4f;
        for (int step = 0; step < 3; step++) {
            float[] g = random(r, SIZE);
            for (int i = 0; i < SIZE; i++) {
                float gi = g[i] + wdecay * w[i];
                s[i] = alpha * s[i] + (1 - alpha) * gi * gi;
                w[i] -= lr * gi / ((float) Math.sqrt(s[i]) + eps);
            }
            BE.rmspropUpdate(tw, BE.fromHost(g, SIZE), ts, lr, alpha, eps, wdecay);
        }
        assertClose("rmsprop w", w, data(tw), 1e-5, 1e-6);
        assertClose("rmsprop square average", s, data(ts), 1e-5, 1e-9);
    }

    @Test
    void adamMatchesScalarLoop() {
        Random r = new Random(3);
        float[] w = random(r, SIZE), m = new float[SIZE], v = new float[SIZE];
        Tensor tw = BE.fromHost(w, SIZE), tm = BE.allocate(SIZE), tv = BE.allocate(SIZE);
        float lr = 1e-3f, b1 = 0.9f, b2 = 0.999f, eps = 1e-8f, wdecay = 1e-2f;
        for (long step = 1; step <= 4; step++) {
            float[] g = random(r, SIZE);
            double c1 = 1 - Math.pow(b1, step), c2 = 1 - Math.pow(b2, step);
            for (int i = 0; i < SIZE; i++) {
                float gi = g[i] + wdecay * w[i];
                m[i] = b1 * m[i] + (1 - b1) * gi;
                v[i] = b2 * v[i] + (1 - b2) * gi * gi;
                w[i] -= (float) (lr * (m[i] / c1) / (Math.sqrt(v[i] / c2) + eps));
            }
            BE.adamUpdate(tw, BE.fromHost(g, SIZE), tm, tv, lr, b1, b2, eps, wdecay, step);
        }
        assertClose("adam w", w, data(tw), 1e-5, 1e-6);
        assertClose("adam m", m, data(tm), 1e-5, 1e-9);
        assertClose("adam v", v, data(tv), 1e-5, 1e-9);
        assertThrows(IllegalArgumentException.class, () -> BE.adamUpdate(tw, tw, tm, tv, lr, b1, b2, eps, 0f, 0));
        assertThrows(IllegalArgumentException.class, () -> BE.adamUpdate(tw, BE.allocate(3), tm, tv, lr, b1, b2, eps, 0f, 1));
    }
}
