package io.kiln.engine.backend.cpu;

import static io.kiln.engine.backend.cpu.CpuTestSupport.assertClose;
import static io.kiln.engine.backend.cpu.CpuTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.LossKind;
import io.kiln.engine.tensor.Tensor;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Word embeddings, the LSTM cell, argmax and the temporal softmax loss against double-precision references. */
class CpuSequencesTest extends SerialAndParallelBackends {
    @Test
    void embeddingLooksUpRowsAndScatterAddsRepeatedWords() {
        Random r = new Random(1);
        int vocab = 7, d = 300, n = 600; // large enough to split over two threads
        float[] table = random(r, vocab * d);
        float[] idx = new float[n];
        for (int i = 0; i < n; i++) {
            idx[i] = r.nextInt(vocab);
        }
        idx[3] = idx[4] = 2; // repeats add up
        float[] dOut = random(r, n * d);
        for (CpuBackend be : both) {
            Tensor t = be.fromHost(table, vocab, d), ix = be.fromHost(idx, n), out = be.allocate(n, d);
            be.fill(out, Float.NaN);
            be.embeddingForward(t, ix, out);
            float[] got = be.toHost(out);
            for (int i = 0; i < n; i++) {
                assertArrayEquals(Arrays.copyOfRange(table, (int) idx[i] * d, (int) idx[i] * d + d),
                        Arrays.copyOfRange(got, i * d, i * d + d), "row " + i);
            }
            float[] start = random(new Random(2), vocab * d);
            Tensor dt = be.fromHost(start, vocab, d);
            be.embeddingBackward(be.fromHost(dOut, n, d), ix, dt);
            double[] want = new double[vocab * d];
            for (int i = 0; i < want.length; i++) {
                want[i] = start[i];
            }
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < d; j++) {
                    want[(int) idx[i] * d + j] += dOut[i * d + j];
                }
            }
            assertClose("scatter-add", want, be.toHost(dt), 1e-5, 1e-5);
        }
        Tensor t = serial.allocate(3, 2), out = serial.allocate(1, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> serial.embeddingForward(t, serial.fromHost(new float[] {3}, 1), out));
        assertTrue(e.getMessage().contains("index 0 is 3.0, expected a word index in [0, 3)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> serial.embeddingForward(t, serial.fromHost(new float[] {1, 2}, 2), out));
        assertTrue(e.getMessage().contains("out [1, 2] has 2 elements, expected 4"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> serial.embeddingBackward(out, serial.fromHost(new float[] {0.5f}, 1), t));
    }

    private static double sigmoid(double x) {
        return 1 / (1 + Math.exp(-x));
    }

    @Test
    void lstmCellForwardAndBackwardMatchTheFormulas() {
        Random r = new Random(3);
        int n = 40, h = 50;
        float[] a = new float[n * 4 * h];
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (r.nextGaussian() * 2);
        }
        float[] cPrev = random(r, n * h), dh = random(r, n * h), dc = random(r, n * h);
        double[] gates = new double[a.length], c = new double[n * h], hh = new double[n * h];
        double[] da = new double[a.length], dcPrev = new double[n * h];
        for (int row = 0; row < n; row++) {
            for (int j = 0; j < h; j++) {
                int e = row * h + j, b = row * 4 * h + j;
                double i = sigmoid(a[b]), f = sigmoid(a[b + h]), o = sigmoid(a[b + 2 * h]), g = Math.tanh(a[b + 3 * h]);
                gates[b] = i;
                gates[b + h] = f;
                gates[b + 2 * h] = o;
                gates[b + 3 * h] = g;
                c[e] = f * cPrev[e] + i * g;
                double tc = Math.tanh(c[e]);
                hh[e] = o * tc;
                double dct = dc[e] + dh[e] * o * (1 - tc * tc);
                da[b] = dct * g * i * (1 - i);
                da[b + h] = dct * cPrev[e] * f * (1 - f);
                da[b + 2 * h] = dh[e] * tc * o * (1 - o);
                da[b + 3 * h] = dct * i * (1 - g * g);
                dcPrev[e] = dct * f;
            }
        }
        for (CpuBackend be : both) {
            Tensor at = be.fromHost(a, n, 4 * h), cp = be.fromHost(cPrev, n, h);
            Tensor gt = be.allocate(n, 4 * h), ct = be.allocate(n, h), ht = be.allocate(n, h);
            be.lstmCellForward(at, cp, gt, ct, ht);
            assertClose("gates", gates, be.toHost(gt), 1e-6, 1e-6);
            assertClose("c", c, be.toHost(ct), 1e-5, 1e-6);
            assertClose("h", hh, be.toHost(ht), 1e-5, 1e-6);
            Tensor dat = be.allocate(n, 4 * h), dct = be.fromHost(dc, n, h);
            be.lstmCellBackward(gt, cp, ct, be.fromHost(dh, n, h), dct, dat, dct); // dcPrev in place of dc
            assertClose("da", da, be.toHost(dat), 1e-5, 1e-6);
            assertClose("dcPrev", dcPrev, be.toHost(dct), 1e-5, 1e-6);
            // without a gradient from the next step dc counts as zero
            Tensor dcp2 = be.allocate(n, h);
            be.lstmCellBackward(gt, cp, ct, be.fromHost(dh, n, h), null, dat, dcp2);
            float[] got = be.toHost(dcp2);
            double tc0 = Math.tanh(c[0]);
            assertEquals(dh[0] * gates[2 * h] * (1 - tc0 * tc0) * gates[h], got[0], 1e-5);
            // in place: gates written over a
            be.lstmCellForward(at, cp, at, ct, ht);
            assertClose("gates in place", gates, be.toHost(at), 1e-6, 1e-6);
        }
        Tensor bad = serial.allocate(2, 6);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> serial.lstmCellForward(bad,
                serial.allocate(2, 1), serial.allocate(2, 6), serial.allocate(2, 1), serial.allocate(2, 1)));
        assertTrue(e.getMessage().contains("must be [n, 4H]"), e.getMessage());
        Tensor a2 = serial.allocate(2, 8), c2 = serial.allocate(2, 2);
        e = assertThrows(IllegalArgumentException.class, () -> serial.lstmCellForward(a2, c2, a2, c2, serial.allocate(2, 2)));
        assertTrue(e.getMessage().contains("must not share storage"), e.getMessage());
    }

    @Test
    void argmaxTakesTheFirstLargest() {
        for (CpuBackend be : both) {
            Tensor s = be.fromHost(new float[] {1, 3, 3, 0, -1, -2, -1, -5, 7}, 3, 3), ix = be.allocate(3);
            be.argmax(s, ix);
            assertArrayEquals(new float[] {1, 0, 2}, be.toHost(ix));
        }
        assertThrows(IllegalArgumentException.class, () -> serial.argmax(serial.allocate(3, 3), serial.allocate(2)));
    }

    @Test
    void temporalSoftmaxIgnoresNullAndDividesByTheCaptions() {
        Random r = new Random(4);
        int n = 5, k = 6;
        float[] s = random(r, n * k);
        float[] y = {0, 2, 5, 0, 1};
        Tensor st = serial.allocate(2), grad = serial.allocate(n, k);
        serial.fill(grad, Float.NaN);
        serial.loss(LossKind.TEMPORAL_SOFTMAX, serial.fromHost(s, n, k), serial.fromHost(y, n), grad, st, 0);
        double loss = 0;
        int correct = 0;
        double[] want = new double[n * k];
        for (int i = 0; i < n; i++) {
            if (y[i] == 0) {
                continue;
            }
            double sum = 0;
            int arg = 0;
            for (int j = 0; j < k; j++) {
                sum += Math.exp(s[i * k + j]);
                arg = s[i * k + j] > s[i * k + arg] ? j : arg;
            }
            loss += Math.log(sum) - s[i * k + (int) y[i]];
            correct += arg == (int) y[i] ? 1 : 0;
            for (int j = 0; j < k; j++) {
                want[i * k + j] = (Math.exp(s[i * k + j]) / sum - (j == y[i] ? 1 : 0)) / n;
            }
        }
        float[] stats = serial.toHost(st);
        assertEquals(loss, stats[0], 1e-5);
        assertEquals(correct, stats[1]);
        assertClose("gradient (zero rows for <NULL>)", want, serial.toHost(grad), 1e-5, 1e-7);
    }
}
