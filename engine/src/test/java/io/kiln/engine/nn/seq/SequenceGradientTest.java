package io.kiln.engine.nn.seq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.nn.GradientCheck;
import io.kiln.engine.nn.Param;
import io.kiln.engine.spec.CaptioningOptions;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Numerical gradient checks of the sequence layers on the CPU: every analytic gradient (of the parameters and of
 * the inputs, through every time step) against the central difference (f(v + h) - f(v - h)) / 2h of a scalar
 * objective, f = sum_t sum(y_t * r_t) for a layer and the mean caption loss for the whole model.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SequenceGradientTest {
    private static final double H = 1e-2;
    private static final double FLOOR = 1e-3;
    /**
     * The model's objective is a float32 sum of a few dozen log-probabilities, resolved to about 3e-5 in its
     * central differences; gradients below 1e-2 are compared on that absolute scale (the real ones are 0.05 to 1).
     */
    private static final double LOSS_FLOOR = 1e-2;
    private double floor = FLOOR;
    private static final double TOL = 2e-2;
    private static final int SAMPLES = 30;
    private static final CpuBackend CPU = new CpuBackend(1);

    private final SplittableRandom rng = new SplittableRandom(7);

    @AfterAll
    static void close() {
        CPU.close();
    }

    private float[] random(int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) ((rng.nextDouble() * 2 - 1) * scale);
        }
        return v;
    }

    private List<Tensor> randomSteps(int steps, int n, int width, double scale) {
        List<Tensor> out = new ArrayList<>();
        for (int t = 0; t < steps; t++) {
            out.add(CPU.fromHost(random(n * width, scale), n, width));
        }
        return out;
    }

    /** f = sum_t sum(ys_t * rs_t) in double. */
    private static double dot(List<Tensor> ys, List<float[]> rs) {
        double f = 0;
        for (int t = 0; t < ys.size(); t++) {
            float[] y = CPU.toHost(ys.get(t));
            for (int i = 0; i < y.length; i++) {
                f += (double) y[i] * rs.get(t)[i];
            }
        }
        return f;
    }

    private List<float[]> weights(List<Tensor> like) {
        List<float[]> out = new ArrayList<>();
        for (Tensor t : like) {
            out.add(random(t.size(), 1));
        }
        return out;
    }

    private static List<Tensor> upload(List<float[]> host, List<Tensor> like) {
        List<Tensor> out = new ArrayList<>();
        for (int t = 0; t < host.size(); t++) {
            out.add(CPU.fromHost(host.get(t), like.get(t).shape()));
        }
        return out;
    }

    /**
     * Compares {@code analytic} (copied before the first perturbation) with central differences of {@code f} in
     * {@code SAMPLES} coordinates of {@code target} (all of them when fewer). Returns the worst relative error.
     */
    private double check(String what, Tensor target, float[] analytic, DoubleSupplier f) {
        float[] values = CPU.toHost(target);
        int n = values.length, count = Math.min(n, SAMPLES);
        double worst = 0;
        double largest = 0;
        for (int c = 0; c < count; c++) {
            int i = count == n ? c : rng.nextInt(n);
            double numeric = GradientCheck.centralDifference(CPU, target, values, i, H, f);
            double err = Math.abs(analytic[i] - numeric) / Math.max(Math.abs(analytic[i]) + Math.abs(numeric), floor);
            worst = Math.max(worst, err);
            largest = Math.max(largest, Math.abs(numeric));
            if (err > TOL) {
                fail(what + "[" + i + "]: analytic " + analytic[i] + ", numeric " + numeric + ", relative error " + err);
            }
        }
        // a gradient that is zero everywhere would pass trivially; these objectives all depend on every tensor
        assertTrue(largest > 1e-3, what + ": every sampled numeric gradient is zero");
        return worst;
    }

    private void checkParams(List<Param> params, DoubleSupplier f) {
        List<float[]> grads = new ArrayList<>();
        for (Param p : params) {
            grads.add(CPU.toHost(p.grad()));
        }
        for (int i = 0; i < params.size(); i++) {
            check(params.get(i).name(), params.get(i).value(), grads.get(i), f);
        }
    }

    private void checkRecurrent(RecurrentLayer layer, int n, int in, int steps) {
        List<Tensor> xs = randomSteps(steps, n, in, 1);
        Tensor h0 = CPU.fromHost(random(n * layer.hidden(), 1), n, layer.hidden());
        List<Tensor> hs = layer.forward(h0, xs);
        assertEquals(steps, hs.size());
        List<float[]> r = weights(hs);
        RecurrentLayer.Gradients g = layer.backward(upload(r, hs));
        List<float[]> dx = new ArrayList<>();
        for (Tensor t : g.dx()) {
            dx.add(CPU.toHost(t));
        }
        float[] dh0 = CPU.toHost(g.dh0());
        DoubleSupplier f = () -> dot(layer.forward(h0, xs), r);
        checkParams(layer.params(), f);
        for (int t = 0; t < steps; t++) {
            check("dx_" + t, xs.get(t), dx.get(t), f);
        }
        check("dh0", h0, dh0, f);
    }

    @Test
    void vanillaRnnBackpropagatesThroughTime() {
        try (VanillaRnn rnn = new VanillaRnn(CPU, "rnn", 4, 5, new SplittableRandom(1))) {
            checkRecurrent(rnn, 3, 4, 5);
        }
    }

    @Test
    void lstmBackpropagatesThroughTime() {
        try (Lstm lstm = new Lstm(CPU, "lstm", 4, 5, new SplittableRandom(2))) {
            checkRecurrent(lstm, 3, 4, 5);
        }
    }

    @Test
    void temporalAffineSumsItsWeightGradientOverSteps() {
        try (TemporalAffine affine = new TemporalAffine(CPU, "out", 4, 6, new SplittableRandom(3))) {
            List<Tensor> hs = randomSteps(3, 2, 4, 1);
            List<Tensor> ys = affine.forward(hs);
            List<float[]> r = weights(ys);
            List<Tensor> dh = affine.backward(upload(r, ys));
            List<float[]> dhHost = dh.stream().map(CPU::toHost).toList();
            DoubleSupplier f = () -> dot(affine.forward(hs), r);
            checkParams(affine.params(), f);
            for (int t = 0; t < hs.size(); t++) {
                check("dh_" + t, hs.get(t), dhHost.get(t), f);
            }
        }
    }

    @Test
    void wordEmbeddingScatterAddsOverRepeatedWordsAndSteps() {
        try (WordEmbedding embed = new WordEmbedding(CPU, "embed", 5, 3, new SplittableRandom(4))) {
            // word 2 appears twice in a step and again in the next: its gradient row is the sum of three
            List<Tensor> words = List.of(CPU.fromHost(new float[] {2, 2, 0, 4}, 4),
                    CPU.fromHost(new float[] {1, 2, 3, 3}, 4));
            List<Tensor> vs = embed.forward(words);
            List<float[]> r = weights(vs);
            embed.backward(upload(r, vs));
            float[] grad = CPU.toHost(embed.table().grad());
            double want = (double) r.get(0)[0] + r.get(0)[3] + r.get(1)[3];
            assertEquals(want, grad[2 * 3], 1e-5, "row 2 column 0 sums three uses");
            checkParams(List.of(embed.table()), () -> dot(embed.forward(words), r));
        }
    }

    private void checkCaptioningModel(String cell) {
        int n = 3, length = 6, vocab = 9, dim = 7;
        CaptioningOptions o = new CaptioningOptions(cell, 4, 5, 10, 0);
        try (CaptioningModel model = new CaptioningModel(CPU, o, dim, vocab, 11);
             Tensor feats = CPU.fromHost(random(n * dim, 1), n, dim);
             Tensor stats = CPU.allocate(2)) {
            // <START> words... <END> then <NULL> padding, which the loss skips
            int[] caps = {1, 5, 6, 7, 2, 0,
                          1, 4, 2, 0, 0, 0,
                          1, 8, 8, 3, 5, 2};
            // word vectors of unit scale instead of CS231n's 0.01, so that the input weights' gradients stand out
            // of float32's rounding of the summed loss
            Param table = model.params().stream().filter(p -> p.name().equals("embed.weight")).findFirst().orElseThrow();
            CPU.upload(random(table.value().size(), 1), table.value());
            model.loss(feats, caps, length, stats, 0, true);
            DoubleSupplier meanLoss = () -> {
                CPU.fill(stats, 0f);
                model.loss(feats, caps, length, stats, 0, false);
                return CPU.toHost(stats)[0] / n;
            };
            floor = LOSS_FLOOR;
            checkParams(model.params(), meanLoss);
            // the padding counts for nothing: the second caption scores the same padded to 6 words as cut to 3
            float[] second = java.util.Arrays.copyOfRange(CPU.toHost(feats), dim, 2 * dim);
            try (Tensor one = CPU.fromHost(second, 1, dim)) {
                CPU.fill(stats, 0f);
                model.loss(one, java.util.Arrays.copyOfRange(caps, length, 2 * length), length, stats, 0, false);
                double padded = CPU.toHost(stats)[0];
                CPU.fill(stats, 0f);
                model.loss(one, new int[] {1, 4, 2}, 3, stats, 0, false);
                assertEquals(padded, CPU.toHost(stats)[0], 1e-6);
                assertTrue(padded > 0);
            }
        }
    }

    @Test
    void captioningRnnLossGradientMatchesNumericalGradient() {
        checkCaptioningModel("rnn");
    }

    @Test
    void captioningLstmLossGradientMatchesNumericalGradient() {
        checkCaptioningModel("lstm");
    }
}
