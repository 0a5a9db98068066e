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
