package io.kiln.engine.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.tensor.Tensor;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A frozen batch norm between layers that train (freezing {@code layer3.0.bn1} by name, say) is the fixed map
 * y = gamma (x - mean) / sqrt(var + eps) + beta of its running statistics, and passes back dx = dy gamma /
 * sqrt(var + eps), checked here against central differences of that map.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class FrozenBatchNormTest {

    @Test
    void theGradientGoesThroughTheFixedTransform() {
        try (CpuBackend b = new CpuBackend(1)) {
            int c = 3;
            int n = 2;
            int hw = 4;
            BatchNorm bn = new BatchNorm(b, "bn", new int[] {c, 2, 2}, 0.1, 1e-5);
            SplittableRandom rng = new SplittableRandom(3);
            float[] gamma = {0.5f, 2f, -1.5f};
            float[] var = {0.25f, 4f, 1.5f};
            float[] mean = {1f, -1f, 0.5f};
            float[] beta = {0.1f, -0.2f, 0.3f};
            b.upload(gamma, bn.params().get(0).value());
            b.upload(beta, bn.params().get(1).value());
            b.upload(mean, bn.buffers().get(0).tensor());
            b.upload(var, bn.buffers().get(1).tensor());
            bn.setFrozen(true);
            float[] x = new float[n * c * hw];
            float[] dy = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) rng.nextGaussian();
                dy[i] = (float) rng.nextGaussian();
            }
            try (Tensor xt = b.fromHost(x, n, c, 2, 2); Tensor dyt = b.fromHost(dy, n, c, 2, 2)) {
                float[] y = b.toHost(bn.forward(xt, true));
                double h = 1e-2;
                for (int i = 0; i < x.length; i++) {
                    int ch = i / hw % c;
                    double slope = gamma[ch] / Math.sqrt(var[ch] + 1e-5);
                    assertEquals(slope * (x[i] - mean[ch]) + beta[ch], y[i], 1e-5, "forward uses the running statistics");
                }
                bn.forward(xt, true);
                float[] dx = b.toHost(bn.backward(dyt));
                for (int i = 0; i < x.length; i++) {
                    double numeric = (objective(b, bn, x, dy, i, h) - objective(b, bn, x, dy, i, -h)) / (2 * h);
                    assertEquals(numeric, dx[i], 2e-3 * Math.max(1, Math.abs(numeric)), "dx[" + i + "]");
                }
                assertArrayEquals(mean, b.toHost(bn.buffers().get(0).tensor()), "statistics unchanged");
            }
            bn.close();
        }
    }

    /** sum(forward(x with x[i] moved by d) * dy), in training mode as the frozen layer runs while others train. */
    private static double objective(CpuBackend b, BatchNorm bn, float[] x, float[] dy, int i, double d) {
        float[] moved = x.clone();
        moved[i] += (float) d;
        try (Tensor t = b.fromHost(moved, 2, 3, 2, 2)) {
            float[] y = b.toHost(bn.forward(t, true));
            double f = 0;
            for (int k = 0; k < y.length; k++) {
                f += (double) y[k] * dy[k];
            }
            return f;
        }
    }
}
