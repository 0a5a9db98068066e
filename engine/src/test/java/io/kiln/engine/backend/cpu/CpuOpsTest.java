package io.kiln.engine.backend.cpu;

import static io.kiln.engine.backend.cpu.CpuTestSupport.assertClose;
import static io.kiln.engine.backend.cpu.CpuTestSupport.data;
import static io.kiln.engine.backend.cpu.CpuTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.CounterRandom;
import io.kiln.engine.tensor.Tensor;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

/** Memory, bias, pointwise, dropout and batch normalisation. */
class CpuOpsTest extends SerialAndParallelBackends {
    @Test
    void memoryOperationsAndViews() {
        CpuBackend be = serial;
        Tensor t = be.allocate(2, 3);
        assertArrayEquals(new float[6], be.toHost(t));
        be.upload(new float[] {1, 2, 3, 4, 5, 6}, t);
        Tensor v = t.reshape(3, 2);
        assertArrayEquals(new int[] {3, 2}, v.shape());
        assertSame(data(t), data(v), "a reshape is a view on the same array");
        be.fill(v, 7f);
        assertArrayEquals(new float[] {7, 7, 7, 7, 7, 7}, be.toHost(t));
        Tensor u = be.fromHost(new float[] {1, 2, 3, 4, 5, 6}, 6);
        be.copy(u, t);
        float[] out = new float[6];
        be.download(t, out);
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, out);
        assertThrows(IllegalArgumentException.class, () -> t.reshape(4, 2));
        assertThrows(IllegalArgumentException.class, () -> be.upload(new float[5], t));
        assertThrows(IllegalArgumentException.class, () -> be.download(t, new float[7]));
        assertThrows(IllegalArgumentException.class, () -> be.copy(t, be.allocate(5)));
        // closing a view leaves the original usable; closing the original closes its views
        v.close();
        be.fill(t, 1f);
        assertThrows(IllegalStateException.class, () -> be.fill(v, 1f));
        Tensor w = t.reshape(6);
        t.close();
        t.close(); // idempotent
        assertThrows(IllegalStateException.class, () -> be.fill(w, 1f));
        assertThrows(IllegalStateException.class, () -> be.toHost(t));
    }

    /** A tensor of some other backend. */
    private static final class ForeignTensor extends Tensor {
        ForeignTensor(int... shape) {
            super(shape);
        }

        @Override
        public Tensor reshape(int... newShape) {
            return new ForeignTensor(newShape);
        }

        @Override
        protected Object storage() {
            return this;
        }

        @Override
        public void close() {
        }
    }

    @Test
    void rejectsTensorsOfAnotherBackend() {
        Tensor foreign = new ForeignTensor(2, 2);
        Tensor mine = serial.allocate(2, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> serial.add(mine, foreign, mine));
        assertTrue(e.getMessage().contains("another backend"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> serial.gemm(false, false, 2, 2, 2, 1f, foreign, mine, 0f, serial.allocate(2, 2)));
        assertThrows(IllegalArgumentException.class, () -> serial.upload(new float[4], foreign));
        // CPU tensors are plain host arrays, so another CpuBackend's tensors are fine
        Tensor other = parallel.fromHost(new float[] {1, 2, 3, 4}, 2, 2);
        serial.add(other, other, mine);
        assertArrayEquals(new float[] {2, 4, 6, 8}, data(mine));
        assertTrue(serial.name().startsWith("cpu"));
    }

    @Test
    void biasForwardAndBackward() {
        for (CpuBackend be : both) {
            for (int[] shape : new int[][] {{5, 7}, {3, 4, 5, 6}, {64, 32, 26, 26}}) {
                Random r = new Random(shape.length * 31L + shape[0]);
                int n = shape[0], c = shape[1], spatial = Tensor.sizeOf(shape) / (n * c);
                float[] y = random(r, Tensor.sizeOf(shape)), b = random(r, c);
                double[] ey = new double[y.length], edb = new double[c], scale = new double[c];
                for (int i = 0; i < y.length; i++) {
                    int ch = (i / spatial) % c;
                    ey[i] = (double) y[i] + b[ch];
                    edb[ch] += y[i];
                    scale[ch] += Math.abs(y[i]);
                }
                Tensor ty = be.fromHost(y, shape), tb = be.fromHost(b, c);
                be.addBias(ty, tb);
                assertClose("addBias", ey, data(ty), 1e-6, 1e-6);
                Tensor db = be.allocate(c);
                be.fill(db, Float.NaN);
                be.biasBackward(be.fromHost(y, shape), db);
                assertClose("biasBackward", edb, data(db), scale, 1e-6, 1e-6);
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> serial.addBias(serial.allocate(2, 3, 4), serial.allocate(4)));
        assertTrue(e.getMessage().contains("[2, 3, 4]"), e.getMessage());
    }

    @Test
    void activationsAndTheirGradients() {
        for (CpuBackend be : both) {
            for (int size : new int[] {37, 300_000}) {
                Random r = new Random(size);
                float[] x = new float[size], dy = random(r, size);
                for (int i = 0; i < size; i++) {
                    x[i] = (float) (r.nextGaussian() * 3);
                }
                for (Activation f : Activation.values()) {
                    double[] ey = new double[size], edx = new double[size];
                    for (int i = 0; i < size; i++) {
                        double v = switch (f) {
                            case RELU -> Math.max(0, x[i]);
                            case SIGMOID -> 1 / (1 + Math.exp(-x[i]));
                            case TANH -> Math.tanh(x[i]);
                        };
                        ey[i] = v;
                        float yf = (float) v;
                        edx[i] = dy[i] * switch (f) {
                            case RELU -> yf > 0 ? 1 : 0;
                            case SIGMOID -> yf * (1.0 - yf);
                            case TANH -> 1.0 - (double) yf * yf;
                        };
                    }
                    Tensor tx = be.fromHost(x, size), ty = be.allocate(size);
                    be.activationForward(f, tx, ty);
                    assertClose(f + " forward", ey, data(ty), 1e-6, 1e-7);
                    be.activationForward(f, tx, tx); // in place
                    assertArrayEquals(data(ty), data(tx), f + " in place");
                    Tensor tdy = be.fromHost(dy, size);
                    Tensor tdx = be.allocate(size);
                    be.activationBackward(f, ty, tdy, tdx);
                    assertClose(f + " backward", edx, data(tdx), 1e-5, 1e-6);
                    be.activationBackward(f, ty, tdy, tdy); // dx may be dy
                    assertArrayEquals(data(tdx), data(tdy), f + " backward in place");
                }
            }
        }
    }

    @Test
    void elementwiseArithmetic() {
        for (CpuBackend be : both) {
            for (int size : new int[] {11, 500_000}) {
                Random r = new Random(size + 5);
                float[] a = random(r, size), b = random(r, size);
                Tensor ta = be.fromHost(a, size), tb = be.fromHost(b, size), out = be.allocate(size);
                be.add(ta, tb, out);
                for (int i = 0; i < size; i++) {
                    assertEquals(a[i] + b[i], data(out)[i]);
                }
                be.multiply(ta, tb, out);
                for (int i = 0; i < size; i++) {
                    assertEquals(a[i] * b[i], data(out)[i]);
                }
                be.copy(ta, out);
                be.axpy(-0.5f, tb, out);
                for (int i = 0; i < size; i++) {
                    assertEquals(a[i] + -0.5f * b[i], data(out)[i]);
                }
                be.scale(out, 3f);
                for (int i = 0; i < size; i++) {
                    assertEquals((a[i] + -0.5f * b[i]) * 3f, data(out)[i]);
                }
                be.add(ta, tb, ta); // out may be an input
                for (int i = 0; i < size; i++) {
                    assertEquals(a[i] + b[i], data(ta)[i]);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> serial.add(serial.allocate(3), serial.allocate(4), serial.allocate(3)));
    }

    @Test
    void dropoutMatchesCounterRandom() {
        for (CpuBackend be : both) {
            int size = 200_000;
            float p = 0.3f;
            long seed = 42;
            Random r = new Random(3);
            float[] x = random(r, size);
            Tensor tx = be.fromHost(x, 400, 500), mask = be.allocate(400, 500), y = be.allocate(400, 500);
            be.dropoutForward(tx, p, seed, mask, y);
            int kept = 0;
            for (int i = 0; i < size; i++) {
                float expected = CounterRandom.uniform(seed, i) >= p ? 1f / (1f - p) : 0f;
                assertEquals(expected, data(mask)[i], "mask " + i);
                assertEquals(x[i] * expected, data(y)[i], "y " + i);
                if (expected != 0f) {
                    kept++;
                }
            }
            // binomial: standard deviation of the kept fraction is about 0.001
            assertEquals(1 - p, kept / (double) size, 0.01, "kept fraction");
            be.dropoutForward(tx, 0f, seed, mask, y);
            assertArrayEquals(x, data(y), "p = 0 keeps everything");
        }
        assertThrows(IllegalArgumentException.class,
                () -> serial.dropoutForward(serial.allocate(3), 1f, 1, serial.allocate(3), serial.allocate(3)));
    }

    // ---- batch normalisation --------------------------------------------------------------------------

    /** Double-precision training-mode batch norm: returns y, mean, invStd, biased var. */
    private static double[][] bnReference(double[] x, int n, int c, int spatial, double[] gamma, double[] beta, double eps) {
        double[] y = new double[x.length], mean = new double[c], inv = new double[c], var = new double[c];
        int m = n * spatial;
        for (int ch = 0; ch < c; ch++) {
            double s = 0;
            for (int i = 0; i < n; i++) {
                for (int p = 0; p < spatial; p++) {
                    s += x[(i * c + ch) * spatial + p];
                }
            }
            mean[ch] = s / m;
            double q = 0;
            for (int i = 0; i < n; i++) {
                for (int p = 0; p < spatial; p++) {
                    double d = x[(i * c + ch) * spatial + p] - mean[ch];
                    q += d * d;
                }
            }
            var[ch] = q / m;
            inv[ch] = 1 / Math.sqrt(var[ch] + eps);
            for (int i = 0; i < n; i++) {
                for (int p = 0; p < spatial; p++) {
                    int o = (i * c + ch) * spatial + p;
                    y[o] = gamma[ch] * (x[o] - mean[ch]) * inv[ch] + beta[ch];
                }
            }
        }
        return new double[][] {y, mean, inv, var};
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    private static double dot(double[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    /**
     * A dense batch-norm layer fed a last batch of 1 (or a [1, c, 1, 1] map): one value per channel, where the
     * unbiased variance divides by zero. The running statistics stay as they were, the output is beta (the
     * batch's own biased variance is 0), nothing is NaN; with two values they are updated.
     */
    @Test
    void batchNormWithOneValuePerChannelLeavesTheRunningStatisticsAlone() {
        for (CpuBackend be : both) {
            for (int[] shape : new int[][] {{1, 4}, {1, 4, 1, 1}, {2, 4}}) {
                int c = 4;
                float[] rm = {0.5f, -1f, 2f, 0f}, rv = {1f, 2f, 0.25f, 3f}, beta = {0.1f, 0.2f, 0.3f, 0.4f};
                Tensor x = be.fromHost(shape[0] == 1 ? new float[] {3f, -2f, 7f, 1f} : new float[] {3f, -2f, 7f, 1f,
                        1f, 2f, 3f, 4f}, shape);
                Tensor trm = be.fromHost(rm, c), trv = be.fromHost(rv, c), y = be.allocate(shape);
                be.batchNormForwardTraining(x, be.fromHost(new float[] {1f, 1f, 1f, 1f}, c), be.fromHost(beta, c), 1e-5f,
                        0.1f, trm, trv, be.allocate(c), be.allocate(c), y);
                float[] gotRm = data(trm), gotRv = data(trv), gotY = data(y);
                if (shape[0] == 1) {
                    assertArrayEquals(rm, gotRm, "running mean of " + Arrays.toString(shape));
                    assertArrayEquals(rv, gotRv, "running variance of " + Arrays.toString(shape));
                    assertArrayEquals(beta, gotY, 1e-3f, "y (x * 1/sqrt(eps) + shift, rounded) of " + Arrays.toString(shape));
                } else {
                    assertEquals(0.9f * rm[0] + 0.1f * 2f, gotRm[0], 1e-6f, "two values per channel update the mean");
                    assertEquals(0.9f * rv[0] + 0.1f * 2f, gotRv[0], 1e-6f, "and the variance, unbiased: 2");
                }
            }
        }
    }

    @Test
    void batchNormTrainingInferenceAndNumericalBackward() {
        for (CpuBackend be : both) {
            for (int[] shape : new int[][] {{6, 3}, {4, 3, 5, 5}, {64, 16, 12, 12}}) {
                Random r = new Random(77 + shape.length);
                int n = shape[0], c = shape[1], spatial = Tensor.sizeOf(shape) / (n * c), size = Tensor.sizeOf(shape);
                float[] x = new float[size];
                for (int i = 0; i < size; i++) {
                    x[i] = (float) (r.nextGaussian() * 2 + 0.5);
                }
                float[] gamma = random(r, c), beta = random(r, c), rm = random(r, c), rv = new float[c], dy = random(r, size);
                for (int ch = 0; ch < c; ch++) {
                    rv[ch] = 0.5f + r.nextFloat();
                }
                float eps = 1e-5f, momentum = 0.1f;
                Tensor tx = be.fromHost(x, shape), tg = be.fromHost(gamma, c), tb = be.fromHost(beta, c);
                Tensor trm = be.fromHost(rm, c), trv = be.fromHost(rv, c);
                Tensor sm = be.allocate(c), si = be.allocate(c), ty = be.allocate(shape);
                be.batchNormForwardTraining(tx, tg, tb, eps, momentum, trm, trv, sm, si, ty);
                double[][] ref = bnReference(toDouble(x), n, c, spatial, toDouble(gamma), toDouble(beta), eps);
                assertClose("bn y", ref[0], data(ty), 1e-4, 1e-4);
                assertClose("bn mean", ref[1], data(sm), 1e-5, 1e-5);
                assertClose("bn invstd", ref[2], data(si), 1e-5, 1e-5);
                int m = n * spatial;
                double[] erm = new double[c], erv = new double[c];
                for (int ch = 0; ch < c; ch++) {
                    erm[ch] = 0.9 * rm[ch] + 0.1 * ref[1][ch];
                    erv[ch] = 0.9 * rv[ch] + 0.1 * ref[3][ch] * m / (m - 1);
                }
                assertClose("bn running mean", erm, data(trm), 1e-5, 1e-6);
                assertClose("bn running var (unbiased)", erv, data(trv), 1e-5, 1e-6);

                // inference with the running statistics
                Tensor yi = be.allocate(shape);
                be.batchNormForwardInference(tx, tg, tb, eps, trm, trv, yi);
                double[] eyi = new double[size];
                for (int i = 0; i < size; i++) {
                    int ch = (i / spatial) % c;
                    eyi[i] = gamma[ch] * (x[i] - data(trm)[ch]) / Math.sqrt(data(trv)[ch] + eps) + beta[ch];
                }
                assertClose("bn inference", eyi, data(yi), 1e-5, 1e-5);

                // backward vs central differences of L = sum(y * dy) through the double reference
                Tensor dx = be.allocate(shape), dg = be.allocate(c), db = be.allocate(c);
                be.batchNormBackward(tx, be.fromHost(dy, shape), tg, sm, si, dx, dg, db);
                double[] xd = toDouble(x), gd = toDouble(gamma), bd = toDouble(beta);
                java.util.function.DoubleSupplier loss = () -> dot(bnReference(xd, n, c, spatial, gd, bd, eps)[0], dy);
                int checks = Math.min(size, 60);
                for (int t = 0; t < checks; t++) {
                    int i = t * (size / checks);
                    double num = centralDifference(xd, i, loss);
                    assertEquals(num, data(dx)[i], 1e-3 + 1e-3 * Math.abs(num), "dx[" + i + "] of " + java.util.Arrays.toString(shape));
                }
                for (int ch = 0; ch < c; ch++) {
                    double num = centralDifference(gd, ch, loss);
                    assertEquals(num, data(dg)[ch], 1e-3 + 1e-4 * Math.abs(num), "dGamma[" + ch + "]");
                    num = centralDifference(bd, ch, loss);
                    assertEquals(num, data(db)[ch], 1e-3 + 1e-4 * Math.abs(num), "dBeta[" + ch + "]");
                }
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> serial.batchNormForwardInference(
                serial.allocate(2, 3, 4), serial.allocate(4), serial.allocate(3), 1e-5f, serial.allocate(3),
                serial.allocate(3), serial.allocate(2, 3, 4)));
        assertTrue(e.getMessage().contains("gamma") && e.getMessage().contains("[2, 3, 4]"), e.getMessage());
    }

    /** (L(v[i] + h) - L(v[i] - h)) / 2h with h = 1e-4, v[i] restored afterwards. */
    private static double centralDifference(double[] v, int i, java.util.function.DoubleSupplier loss) {
        double h = 1e-4, keep = v[i];
        v[i] = keep + h;
        double lp = loss.getAsDouble();
        v[i] = keep - h;
        double lm = loss.getAsDouble();
        v[i] = keep;
        return (lp - lm) / (2 * h);
    }
}
