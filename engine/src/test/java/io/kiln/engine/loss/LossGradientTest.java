package io.kiln.engine.loss;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.LossKind;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.tensor.Tensor;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Numerical gradient check of every loss: the gradient the backend writes must match the central difference
 * of the mean loss (h = 1e-2, relative error below 1e-2, floor 1e-3, as for the layers), and the loss value
 * must match a plain double-precision formula to 1e-5 relative.
 */
class LossGradientTest {
    @AutoClose
    static final CpuBackend backend = new CpuBackend(2);

    @ParameterizedTest
    @EnumSource(LossKind.class)
    void gradientMatchesNumericalDerivative(LossKind kind) {
        int n = 6;
        int k = kind == LossKind.LOGISTIC ? 1 : 4;
        int classes = kind == LossKind.LOGISTIC ? 2 : k;
        SplittableRandom rng = new SplittableRandom(kind.ordinal() + 3);
        float[] s = new float[n * k];
        for (int i = 0; i < s.length; i++) {
            s[i] = (float) (rng.nextDouble() * 4 - 2);
        }
        float[] y = new float[n];
        for (int i = 0; i < n; i++) {
            y[i] = rng.nextInt(classes);
        }
        if (kind == LossKind.MULTICLASS_HINGE) {
            avoidHingeKinks(s, y, n, k);
        }
        try (Tensor out = backend.fromHost(s, n, k); Tensor labels = backend.fromHost(y, n);
             Tensor grad = backend.allocate(n, k); Tensor stats = backend.allocate(2)) {
            backend.loss(kind, out, labels, grad, stats, 0);
            float[] g = backend.toHost(grad);
            float[] st = backend.toHost(stats);
            double expectedSum = reference(kind, s, y, n, k);
            assertEquals(expectedSum, st[0], 1e-5 * Math.abs(expectedSum) + 1e-6, kind + " loss sum");
            assertEquals(correct(kind, s, y, n, k), st[1], 0.0, kind + " correct count");
            double h = 1e-2;
            for (int i = 0; i < s.length; i++) {
                float[] p = s.clone();
                p[i] += (float) h;
                float[] m = s.clone();
                m[i] -= (float) h;
                double numeric = (lossMean(kind, p, y, n, k) - lossMean(kind, m, y, n, k)) / (2 * h);
                double err = Math.abs(g[i] - numeric) / Math.max(Math.abs(g[i]) + Math.abs(numeric), 1e-3);
                assertTrue(err < 1e-2, kind + " grad[" + i + "]: analytic " + g[i] + ", numeric " + numeric);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(LossKind.class)
    void statisticsAccumulateIntoTheirSlot(LossKind kind) {
        int k = kind == LossKind.LOGISTIC ? 1 : 3;
        float[] s = new float[2 * k];
        s[0] = 1;
        try (Tensor out = backend.fromHost(s, 2, k); Tensor labels = backend.fromHost(new float[] {0, 1}, 2);
             Tensor stats = backend.allocate(6)) {
            backend.loss(kind, out, labels, null, stats, 1);
            backend.loss(kind, out, labels, null, stats, 1);
            float[] st = backend.toHost(stats);
            assertEquals(0f, st[0], "slot 0 untouched");
            assertEquals(0f, st[4], "slot 2 untouched");
            assertEquals(2 * reference(kind, s, new float[] {0, 1}, 2, k), st[2], 1e-5, "two batches accumulated");
        }
    }

    /** Moves scores so no margin s_j - s_y + 1 is within 0.05 of zero, where the hinge is not differentiable. */
    private static void avoidHingeKinks(float[] s, float[] y, int n, int k) {
        for (int i = 0; i < n; i++) {
            int yi = (int) y[i];
            for (int j = 0; j < k; j++) {
                if (j != yi && Math.abs(s[i * k + j] - s[i * k + yi] + 1) < 0.05) {
                    s[i * k + j] += 0.2f;
                }
            }
        }
    }

    private static double lossMean(LossKind kind, float[] s, float[] y, int n, int k) {
        return reference(kind, s, y, n, k) / n;
    }

    /** Sum over the batch of the per-sample loss, in double precision. */
    static double reference(LossKind kind, float[] s, float[] y, int n, int k) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            int yi = (int) y[i];
            if (kind == LossKind.TEMPORAL_SOFTMAX && yi == 0) {
                continue; // <NULL> padding: no loss
            }
            switch (kind) {
                case SOFTMAX_CROSS_ENTROPY, TEMPORAL_SOFTMAX -> {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < k; j++) {
                        max = Math.max(max, s[i * k + j]);
                    }
                    double z = 0;
                    for (int j = 0; j < k; j++) {
                        z += Math.exp(s[i * k + j] - max);
                    }
                    sum += Math.log(z) + max - s[i * k + yi];
                }
                case MULTICLASS_HINGE -> {
                    for (int j = 0; j < k; j++) {
                        if (j != yi) {
                            sum += Math.max(0, s[i * k + j] - s[i * k + yi] + 1);
                        }
                    }
                }
                case LOGISTIC -> {
                    double z = s[i];
                    sum += yi == 1 ? Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
                }
                case MSE -> {
                    for (int j = 0; j < k; j++) {
                        double t = k == 1 ? yi : (j == yi ? 1 : 0);
                        double d = s[i * k + j] - t;
                        sum += d * d / k;
                    }
                }
            }
        }
        return sum;
    }

    private static double correct(LossKind kind, float[] s, float[] y, int n, int k) {
        int c = 0;
        for (int i = 0; i < n; i++) {
            int yi = (int) y[i];
            if (kind == LossKind.TEMPORAL_SOFTMAX && yi == 0) {
                continue; // <NULL> padding is not a prediction
            }
            int predicted;
            if (k == 1) {
                predicted = kind == LossKind.LOGISTIC ? (s[i] > 0 ? 1 : 0) : Math.round(s[i]);
            } else {
                predicted = 0;
                for (int j = 1; j < k; j++) {
                    if (s[i * k + j] > s[i * k + predicted]) {
                        predicted = j;
                    }
                }
            }
            c += predicted == yi ? 1 : 0;
        }
        return c;
    }
}
