package io.kiln.engine.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.nn.Param;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecParser;
import io.kiln.engine.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class OptimizerTest {
    @AutoClose
    static final CpuBackend backend = new CpuBackend(1);

    static JobSpec.Optimizer optimizer(String json) {
        return SpecParser.parse("{\"data\":{\"name\":\"d\"},\"model\":{\"preset\":\"mlp\"},\"optimizer\":" + json + "}").optimizer();
    }

    /** Each optimizer, from w = (3, -2), reaches the minimum of f(w) = 0.5 |w - (1, 1)|^2 (gradient w - (1, 1)). */
    @ParameterizedTest
    @ValueSource(strings = {
        "{\"type\":\"sgd\",\"lr\":0.1}",
        "{\"type\":\"sgd\",\"lr\":0.05,\"momentum\":0.9}",
        "{\"type\":\"sgd\",\"lr\":0.05,\"momentum\":0.9,\"nesterov\":true}",
        "{\"type\":\"rmsprop\",\"lr\":0.01}",
        "{\"type\":\"adam\",\"lr\":0.05}"})
    void minimisesAQuadratic(String json) {
        Optimizer opt = new Optimizer(backend, optimizer(json));
        try (Tensor w = backend.fromHost(new float[] {3, -2}, 2); Tensor g = backend.allocate(2)) {
            Param p = new Param("w", w, g);
            opt.initState(List.of(p));
            for (int i = 0; i < 500; i++) {
                float[] v = backend.toHost(w);
                backend.upload(new float[] {v[0] - 1, v[1] - 1}, g);
                opt.step(List.of(p), (float) optimizer(json).lr());
            }
            float[] v = backend.toHost(w);
            assertArrayEquals(new float[] {1, 1}, v, 0.02f, json);
            assertEquals(500, opt.steps());
        }
    }

    /**
     * Adam step by step against its formula with beta1 != beta2 and every option set: the weights and both
     * moments after each of three steps. Swapped betas, a wrong step number in the bias correction or eps
     * and weight decay left out each change every value by far more than the tolerance.
     */
    @Test
    void adamFollowsItsFormulaStepByStep() {
        double lr = 0.1, b1 = 0.8, b2 = 0.95, eps = 1e-3, wd = 0.01;
        Optimizer opt = new Optimizer(backend, optimizer(
                "{\"type\":\"adam\",\"lr\":0.1,\"beta1\":0.8,\"beta2\":0.95,\"eps\":1e-3,\"weightDecay\":0.01}"));
        double[] w = {1.5, -2, 0.25}, m = new double[3], v = new double[3];
        float[][] grads = {{0.5f, -1f, 2f}, {-0.25f, 0.75f, 0f}, {1f, 1f, -3f}};
        try (Tensor tw = backend.fromHost(new float[] {1.5f, -2f, 0.25f}, 3); Tensor tg = backend.allocate(3)) {
            Param p = new Param("w", tw, tg);
            opt.initState(List.of(p));
            for (int t = 1; t <= 3; t++) {
                backend.upload(grads[t - 1], tg);
                opt.step(List.of(p), (float) lr);
                for (int i = 0; i < 3; i++) {
                    double g = grads[t - 1][i] + wd * w[i];
                    m[i] = b1 * m[i] + (1 - b1) * g;
                    v[i] = b2 * v[i] + (1 - b2) * g * g;
                    w[i] -= lr * (m[i] / (1 - Math.pow(b1, t))) / (Math.sqrt(v[i] / (1 - Math.pow(b2, t))) + eps);
                }
                assertClose("w after step " + t, w, backend.toHost(tw));
                assertClose("first moment after step " + t, m, backend.toHost(p.optimizerState()[0]));
                assertClose("second moment after step " + t, v, backend.toHost(p.optimizerState()[1]));
            }
            assertEquals(3, opt.steps());
        }
    }

    /** RMSprop likewise, with a smoothing constant and eps other than the defaults. */
    @Test
    void rmspropFollowsItsFormulaStepByStep() {
        double lr = 0.05, alpha = 0.7, eps = 1e-2;
        Optimizer opt = new Optimizer(backend, optimizer("{\"type\":\"rmsprop\",\"lr\":0.05,\"alpha\":0.7,\"eps\":1e-2}"));
        double[] w = {1.5, -2, 0.25}, s = new double[3];
        float[][] grads = {{0.5f, -1f, 2f}, {-0.25f, 0.75f, 0f}};
        try (Tensor tw = backend.fromHost(new float[] {1.5f, -2f, 0.25f}, 3); Tensor tg = backend.allocate(3)) {
            Param p = new Param("w", tw, tg);
            opt.initState(List.of(p));
            for (float[] grad : grads) {
                backend.upload(grad, tg);
                opt.step(List.of(p), (float) lr);
                for (int i = 0; i < 3; i++) {
                    s[i] = alpha * s[i] + (1 - alpha) * grad[i] * grad[i];
                    w[i] -= lr * grad[i] / (Math.sqrt(s[i]) + eps);
                }
                assertClose("w", w, backend.toHost(tw));
                assertClose("square average", s, backend.toHost(p.optimizerState()[0]));
            }
        }
    }

    private static void assertClose(String what, double[] expected, float[] actual) {
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-5 * (1 + Math.abs(expected[i])), what + " [" + i + "]");
        }
    }

    @Test
    void weightDecayPullsTowardsZero() {
        Optimizer opt = new Optimizer(backend, optimizer("{\"type\":\"sgd\",\"lr\":0.1,\"weightDecay\":0.5}"));
        try (Tensor w = backend.fromHost(new float[] {2}, 1); Tensor g = backend.allocate(1)) {
            Param p = new Param("w", w, g);
            opt.initState(List.of(p));
            opt.step(List.of(p), 0.1f);
            // zero gradient: w -= lr * wd * w = 2 - 0.1 * 0.5 * 2
            assertEquals(1.9f, backend.toHost(w)[0], 1e-6f);
        }
    }

    @Test
    void frozenParametersDoNotMove() {
        Optimizer opt = new Optimizer(backend, optimizer("{\"type\":\"adam\",\"lr\":0.1}"));
        try (Tensor w = backend.fromHost(new float[] {2, 3}, 2); Tensor g = backend.fromHost(new float[] {1, 1}, 2)) {
            Param p = new Param("w", w, g);
            p.setFrozen(true);
            opt.initState(List.of(p));
            opt.step(List.of(p), 0.1f);
            assertArrayEquals(new float[] {2, 3}, backend.toHost(w));
        }
    }

    @Test
    void stateSlotsPerOptimizer() {
        assertEquals(0, new Optimizer(backend, optimizer("{\"type\":\"sgd\",\"lr\":0.1}")).stateSlots());
        assertEquals(1, new Optimizer(backend, optimizer("{\"type\":\"sgd\",\"lr\":0.1,\"momentum\":0.5}")).stateSlots());
        assertEquals(1, new Optimizer(backend, optimizer("{\"type\":\"rmsprop\",\"lr\":0.1}")).stateSlots());
        assertEquals(2, new Optimizer(backend, optimizer("{\"type\":\"adam\",\"lr\":0.1}")).stateSlots());
    }

    @Test
    void stepSchedule() {
        LearningRate lr = new LearningRate(optimizer(
                "{\"type\":\"sgd\",\"lr\":0.1,\"schedule\":{\"type\":\"step\",\"every\":2,\"gamma\":0.5}}"), 100);
        assertEquals(0.1, lr.at(0, 0), 1e-12);
        assertEquals(0.1, lr.at(1, 50), 1e-12);
        assertEquals(0.05, lr.at(2, 0), 1e-12);
        assertEquals(0.025, lr.at(5, 0), 1e-12);
    }

    @Test
    void cosineSchedule() {
        LearningRate lr = new LearningRate(optimizer(
                "{\"type\":\"sgd\",\"lr\":0.1,\"schedule\":{\"type\":\"cosine\",\"minLr\":0.01}}"), 100);
        assertEquals(0.1, lr.at(0, 0), 1e-12);
        assertEquals(0.055, lr.at(0, 50), 1e-12, "half way: the mean of lr and minLr");
        assertEquals(0.01, lr.at(0, 100), 1e-12);
        double previous = 1;
        for (int s = 0; s <= 100; s += 10) {
            assertTrue(lr.at(0, s) <= previous, "never rises");
            previous = lr.at(0, s);
        }
    }

    @Test
    void constantWithoutSchedule() {
        LearningRate lr = new LearningRate(optimizer("{\"type\":\"adam\",\"lr\":0.003}"), 10);
        assertEquals(0.003, lr.at(7, 9), 1e-12);
    }
}
