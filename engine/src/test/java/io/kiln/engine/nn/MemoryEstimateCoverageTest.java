package io.kiln.engine.nn;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.LossKind;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.backend.cpu.CpuTensor;
import io.kiln.engine.optim.Optimizer;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.Presets;
import io.kiln.engine.spec.SpecParser;
import io.kiln.engine.tensor.Tensor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The estimate the service refuses jobs by (a GPU's memory, a CPU worker's heap) against what training really holds:
 * every tensor the backend allocates, alive at its fullest over steps of the training batch, a last batch one smaller
 * (an epoch's remainder at its largest: the gradient buffers must not keep a set of each size) and the training batch
 * again, for the models of the course. Under it, a job admitted could run out of memory; far over it, a job that fits
 * would be refused. The estimate without its margin for workspaces is compared: the backends' scratch is that margin's.
 */
class MemoryEstimateCoverageTest {
    /** Every tensor a backend hands out, and the most bytes alive at once, looked at after each operation. */
    static final class Counting {
        final List<CpuTensor> made = new ArrayList<>();
        long peakBytes;
        final Backend backend;

        Counting(CpuBackend cpu) {
            backend = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                    (p, m, args) -> {
                        Object r;
                        try {
                            r = m.invoke(cpu, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                        if (r instanceof CpuTensor t && !made.contains(t)) {
                            made.add(t);
                        }
                        long alive = 0;
                        for (CpuTensor t : made) {
                            alive += t.isClosed() ? 0 : 4L * t.size();
                        }
                        peakBytes = Math.max(peakBytes, alive);
                        return r;
                    });
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            mlp      | {"preset":"mlp","hidden":[100]}                           | 1,28,28 | sgd
            lenet    | {"preset":"lenet","dropout":0.5}                          | 1,28,28 | adam
            cnn-bn   | {"layers":[{"type":"conv2d","filters":16,"kernel":3,"padding":1},{"type":"batchnorm"},{"type":"relu"},{"type":"maxpool2d","size":2},{"type":"flatten"},{"type":"dense","units":10}]} | 1,28,28 | sgd
            vgg11    | {"preset":"vgg11"}                                        | 3,32,32 | sgd
            resnet20 | {"preset":"resnet20"}                                     | 3,32,32 | adam
            """)
    void theEstimateCoversWhatTrainingHoldsWithoutBeingFarAbove(String name, String model, String input, String optimizer) {
        int batch = 64;
        String opt = optimizer.equals("adam") ? "{\"type\":\"adam\",\"lr\":0.001}"
                : "{\"type\":\"sgd\",\"lr\":0.01,\"momentum\":0.9}";
        JobSpec spec = SpecParser.parse("{\"data\":{\"name\":\"d\"},\"model\":" + model + ",\"optimizer\":" + opt
                + ",\"training\":{\"batchSize\":" + batch + "}}");
        int[] sample = java.util.Arrays.stream(input.split(",")).mapToInt(Integer::parseInt).toArray();
        int classes = 10;
        MemoryEstimate estimate = MemoryEstimate.of(spec, sample, classes);
        long estimated = estimate.parameterBytes() + estimate.activationBytes();

        try (CpuBackend cpu = new CpuBackend(1)) {
            Counting counting = new Counting(cpu);
            Backend b = counting.backend;
            var layers = spec.model().layers() != null ? spec.model().layers()
                    : Presets.expand(spec.model().preset(), spec.model().presetOptions(), sample, classes);
            try (Model m = new Model(b, layers, sample, 0)) {
                Optimizer o = new Optimizer(b, spec.optimizer());
                o.initState(m.params());
                for (int n : new int[] {batch, batch, batch - 1, batch}) {
                    step(b, m, o, sample, classes, n);
                }
            }
            double ratio = (double) estimated / counting.peakBytes;
            String figures = name + ": estimated " + estimated + " B (" + estimate.describe() + "), held at most "
                    + counting.peakBytes + " B, ratio " + ratio;
            assertTrue(ratio >= 1.0, "under what training holds: " + figures);
            assertTrue(ratio <= 2.5, "far above what training holds: " + figures);
        }
    }

    private static void step(Backend b, Model m, Optimizer o, int[] sample, int classes, int n) {
        SplittableRandom rng = new SplittableRandom(n);
        int size = Tensor.sizeOf(sample);
        float[] x = new float[n * size];
        float[] y = new float[n];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextDouble();
        }
        for (int i = 0; i < n; i++) {
            y[i] = rng.nextInt(classes);
        }
        try (Tensor xt = b.fromHost(x, Tensor.batchShape(n, sample)); Tensor yt = b.fromHost(y, n); Tensor grad = b.allocate(n, classes);
             Tensor stats = b.allocate(2)) {
            Tensor out = m.forward(xt, true);
            b.loss(LossKind.SOFTMAX_CROSS_ENTROPY, out, yt, grad, stats, 0);
            m.backward(grad);
            o.step(m.params(), 0.01f);
        }
    }
}
