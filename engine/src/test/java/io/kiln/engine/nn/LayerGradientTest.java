package io.kiln.engine.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.PoolMode;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.data.Batches;
import io.kiln.engine.spec.LayerSpec;
import io.kiln.engine.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * Numerical gradient checks of every layer on the CPU backend (see {@link GradientCheck} for the error
 * measure). Bound: relative error below 1e-2 for every checked coordinate of the input and of each parameter,
 * 2e-2 for batch norm, whose normalisation by the batch variance loses more precision in float32.
 */
class LayerGradientTest {
    static final double TOL = 1e-2;
    @AutoClose
    static final CpuBackend backend = new CpuBackend(2);
    final GradientCheck check = new GradientCheck(backend, 42);
    final SplittableRandom rng = new SplittableRandom(7);
    static final Runnable NOTHING = () -> { };

    @Test
    void dense() {
        Dense d = new Dense(backend, "dense", new int[] {7}, new LayerSpec.Dense(5, true, LayerSpec.Init.XAVIER), rng);
        check.check(d, 4, 0.0, TOL, NOTHING);
    }

    @Test
    void denseReadsImageInputsAsVectors() {
        Dense d = new Dense(backend, "dense", new int[] {2, 3, 3}, new LayerSpec.Dense(4, false, LayerSpec.Init.HE), rng);
        assertArrayEquals(new int[] {4}, d.outputShape());
        assertEquals(1, d.params().size(), "no bias parameter when bias is false");
        check.check(d, 3, 0.0, TOL, NOTHING);
    }

    @Test
    void conv2dStrideAndPadding() {
        Conv2d c = new Conv2d(backend, "conv", new int[] {3, 7, 6}, new LayerSpec.Conv2d(4, 3, 2, 1, true, LayerSpec.Init.HE), rng, "f");
        assertArrayEquals(new int[] {4, 4, 3}, c.outputShape());
        check.check(c, 2, 0.0, TOL, NOTHING);
    }

    @Test
    void conv2dNoPadding() {
        Conv2d c = new Conv2d(backend, "conv", new int[] {2, 6, 6}, new LayerSpec.Conv2d(3, 3, 1, 0, false, LayerSpec.Init.XAVIER), rng, "f");
        check.check(c, 3, 0.0, TOL, NOTHING);
    }

    @Test
    void maxPool() {
        Pool2d p = new Pool2d(backend, "pool", new int[] {2, 6, 5}, new LayerSpec.Pool2d(PoolMode.MAX, 2, 2, 0), "f");
        check.check(p, 2, distinct(2 * 2 * 6 * 5), TOL, NOTHING);
    }

    @Test
    void maxPoolOverlappingWithPadding() {
        Pool2d p = new Pool2d(backend, "pool", new int[] {1, 5, 5}, new LayerSpec.Pool2d(PoolMode.MAX, 3, 2, 1), "f");
        check.check(p, 2, distinct(2 * 25), TOL, NOTHING);
    }

    @Test
    void averagePool() {
        Pool2d p = new Pool2d(backend, "pool", new int[] {2, 6, 6}, new LayerSpec.Pool2d(PoolMode.AVERAGE, 3, 2, 1), "f");
        check.check(p, 2, 0.0, TOL, NOTHING);
    }

    @Test
    void activations() {
        for (Activation a : Activation.values()) {
            ActivationLayer l = new ActivationLayer(backend, a.name(), new int[] {3, 4}, a);
            // Inputs stay 0.05 away from zero so ReLU's kink is never inside a difference.
            check.check(l, 3, 0.05, TOL, NOTHING);
        }
    }

    @Test
    void dropoutInTraining() {
        Dropout d = new Dropout(backend, "drop", new int[] {20}, 0.3, 99);
        // The same mask for every forward pass of the check.
        check.check(d, 5, 0.0, TOL, () -> d.setCalls(0));
        float[] y = backend.toHost(forward(d, 5, true));
        long zeros = 0;
        for (float v : y) {
            zeros += v == 0f ? 1 : 0;
        }
        assertTrue(zeros > 10 && zeros < 50, "about 30% of 100 outputs dropped, got " + zeros);
    }

    @Test
    void dropoutIsIdentityInEvaluation() {
        Dropout d = new Dropout(backend, "drop", new int[] {20}, 0.5, 1);
        float[] x = check.random(40, 0.1);
        try (Tensor t = backend.fromHost(x, 2, 20)) {
            assertArrayEquals(x, backend.toHost(d.forward(t, false)));
        }
    }

    @Test
    void batchNormDense() {
        BatchNorm bn = new BatchNorm(backend, "bn", new int[] {5}, 0.1, 1e-5);
        check.check(bn, 8, 0.0, 2 * TOL, NOTHING);
    }

    @Test
    void batchNormSpatial() {
        BatchNorm bn = new BatchNorm(backend, "bn", new int[] {3, 4, 4}, 0.1, 1e-5);
        check.check(bn, 3, 0.0, 2 * TOL, NOTHING);
    }

    @Test
    void batchNormUpdatesRunningStatisticsAndUsesThemInEvaluation() {
        BatchNorm bn = new BatchNorm(backend, "bn", new int[] {1}, 0.5, 0.0);
        try (Tensor x = backend.fromHost(new float[] {1, 3}, 2, 1)) {
            float[] y = backend.toHost(bn.forward(x, true));
            assertArrayEquals(new float[] {-1, 1}, y, 1e-5f, "normalised by batch mean 2 and biased variance 1");
            List<Layer.NamedTensor> buffers = bn.buffers();
            // running = 0.5 * old + 0.5 * batch: mean 0.5*0 + 0.5*2 = 1; variance uses the unbiased estimate 2.
            assertEquals(1f, backend.toHost(buffers.get(0).tensor())[0], 1e-6f);
            assertEquals(1.5f, backend.toHost(buffers.get(1).tensor())[0], 1e-6f);
            float[] eval = backend.toHost(bn.forward(x, false));
            assertEquals((1 - 1) / (float) Math.sqrt(1.5), eval[0], 1e-5f);
            assertEquals((3 - 1) / (float) Math.sqrt(1.5), eval[1], 1e-5f);
        }
    }

    @Test
    void flattenKeepsValues() {
        Flatten f = new Flatten(backend, "flat", new int[] {2, 3, 2});
        check.check(f, 2, 0.0, TOL, NOTHING);
        assertArrayEquals(new int[] {12}, f.outputShape());
    }

    @Test
    void residualWithIdentityShortcut() {
        int[] in = {2, 5, 5};
        Sequential body = new Sequential(backend, "body", in, List.of(
                new Conv2d(backend, "c1", in, new LayerSpec.Conv2d(2, 3, 1, 1, true, LayerSpec.Init.HE), rng, "f"),
                tanh(in)));
        checkResidual(in, body, new Sequential(backend, "short", in, List.of()));
    }

    @Test
    void residualWithProjectionShortcut() {
        int[] in = {2, 6, 6};
        Sequential body = new Sequential(backend, "body", in, List.of(
                new Conv2d(backend, "c1", in, new LayerSpec.Conv2d(3, 3, 2, 1, false, LayerSpec.Init.HE), rng, "f")));
        Sequential shortcut = new Sequential(backend, "short", in, List.of(
                new Conv2d(backend, "p", in, new LayerSpec.Conv2d(3, 1, 2, 0, false, LayerSpec.Init.HE), rng, "f")));
        checkResidual(in, body, shortcut);
    }

    /** Checks the gradients of a residual block of {@code body} and {@code shortcut}, prepared as a model prepares it. */
    private void checkResidual(int[] in, Sequential body, Sequential shortcut) {
        Residual r = new Residual(backend, "res", in, body, shortcut);
        r.prepareBackward();
        // as in a model: the block's layers share gradient tensors, and the shortcut's gradient is dy itself
        r.useGradients(new GradientBuffers(backend));
        check.check(r, 2, 0.0, TOL, NOTHING);
    }

    @Test
    void activationOverwritesItsInputOnlyWhereNothingElseReadsIt() {
        int[] in = {2, 6, 5};
        Pool2d pool = new Pool2d(backend, "pool", in, new LayerSpec.Pool2d(PoolMode.MAX, 2, 2, 0), "f");
        ActivationLayer afterPool = tanh(pool.outputShape());
        Sequential pooled = new Sequential(backend, "s", in, List.of(pool, afterPool));
        // cuDNN's max-pooling backward finds each window's maximum by the output (the CPU's recomputes it)
        assertFalse(afterPool.inPlace());
        check.check(pooled, 2, distinct(2 * 2 * 6 * 5), TOL, NOTHING);

        ActivationLayer first = tanh(in);
        Conv2d conv = new Conv2d(backend, "c", in, new LayerSpec.Conv2d(3, 3, 1, 1, true, LayerSpec.Init.HE), rng, "f");
        ActivationLayer afterConv = tanh(conv.outputShape());
        Sequential convolved = new Sequential(backend, "t", in, List.of(first, conv, afterConv));
        assertFalse(first.inPlace(), "a sequence's input is its caller's");
        assertTrue(afterConv.inPlace(), "nothing but the activation reads a convolution's output");
        check.check(convolved, 2, 0.0, TOL, NOTHING);
    }

    private ActivationLayer tanh(int[] shape) {
        return new ActivationLayer(backend, "tanh", shape, Activation.TANH);
    }

    private Tensor forward(Layer l, int batch, boolean training) {
        Tensor x = backend.fromHost(check.random(batch * Tensor.sizeOf(l.inputShape()), 0.1),
                GradientCheck.shape(batch, l.inputShape()));
        return l.forward(x, training);
    }

    /** Values 0.05 apart (more than the 2h of a central difference), in random order: no near-ties for max pooling. */
    private float[] distinct(int n) {
        int[] order = Batches.permutation(n, rng);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (order[i] - n / 2) * 0.05f;
        }
        return v;
    }
}
