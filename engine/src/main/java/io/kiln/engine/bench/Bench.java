package io.kiln.engine.bench;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.LossKind;
import io.kiln.engine.nn.Model;
import io.kiln.engine.optim.Optimizer;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.Presets;
import io.kiln.engine.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * Training-step throughput with the data already on the device: forward, softmax cross-entropy, backward and
 * an SGD-with-momentum update, repeated for a fixed time after a warm-up.
 */
public final class Bench {
    private Bench() {
    }

    public record Result(String model, int batch, double imagesPerSecond, int steps, double seconds) {
    }

    public static Result run(Backend backend, BenchModels.BenchModel m, double seconds) {
        JobSpec spec = m.spec();
        var layers = spec.model().layers() != null ? spec.model().layers()
                : Presets.expand(spec.model().preset(), spec.model().presetOptions(), m.input(), m.classes());
        SplittableRandom rng = new SplittableRandom(1);
        int sample = Tensor.sizeOf(m.input());
        float[] x = new float[m.batch() * sample];
        float[] y = new float[m.batch()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextDouble();
        }
        for (int i = 0; i < y.length; i++) {
            y[i] = rng.nextInt(m.classes());
        }
        int[] shape = Tensor.batchShape(m.batch(), m.input());
        try (Model model = new Model(backend, layers, m.input(), 0);
             Tensor xt = backend.fromHost(x, shape);
             Tensor yt = backend.fromHost(y, m.batch());
             Tensor grad = backend.allocate(m.batch(), m.classes());
             Tensor stats = backend.allocate(2)) {
            Optimizer opt = new Optimizer(backend, spec.optimizer());
            opt.initState(model.params());
            Runnable step = () -> {
                Tensor out = model.forward(xt, true);
                backend.loss(LossKind.SOFTMAX_CROSS_ENTROPY, out, yt, grad, stats, 0);
                model.backward(grad);
                opt.step(model.params(), 0.01f);
            };
            // Warm-up: lets the JIT compile (CPU) or algorithms and allocations settle (GPU).
            long warmEnd = System.nanoTime() + (long) (Math.min(seconds / 4, 5) * 1e9);
            int warm = 0;
            do {
                step.run();
                warm++;
            } while (System.nanoTime() < warmEnd || warm < 2);
            backend.synchronize();
            long start = System.nanoTime();
            long end = start + (long) (seconds * 1e9);
            int steps = 0;
            do {
                step.run();
                steps++;
                if (steps % 8 == 0) {
                    backend.synchronize();
                }
            } while (System.nanoTime() < end || steps < 2);
            backend.synchronize();
            double elapsed = (System.nanoTime() - start) / 1e9;
            return new Result(m.name(), m.batch(), steps * (double) m.batch() / elapsed, steps, elapsed);
        }
    }
}
