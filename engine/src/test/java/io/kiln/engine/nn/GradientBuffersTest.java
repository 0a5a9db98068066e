package io.kiln.engine.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.backend.cpu.CpuTensor;
import io.kiln.engine.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The layers of a model share their input-gradient tensors ({@link GradientBuffers}): every tensor lent in a
 * backward pass comes back, the second step allocates none, far fewer are held than the model has layers, and
 * the gradients are exactly those of layers that each get fresh tensors.
 */
@Timeout(60)
class GradientBuffersTest {
    @AutoClose
    static final CpuBackend backend = new CpuBackend(2);

    /** Identity and projection shortcuts, batch norm, a flatten (a view of its gradient), dropout. */
    static final String NET = """
            [{"type":"conv2d","filters":4,"kernel":3,"padding":1,"bias":false},{"type":"batchnorm"},{"type":"relu"},
             {"type":"residual","layers":[{"type":"conv2d","filters":4,"kernel":3,"padding":1,"bias":false},
                                          {"type":"batchnorm"},{"type":"relu"},
                                          {"type":"conv2d","filters":4,"kernel":3,"padding":1,"bias":false},
                                          {"type":"batchnorm"}]},
             {"type":"relu"},
             {"type":"residual","layers":[{"type":"conv2d","filters":6,"kernel":3,"stride":2,"padding":1},{"type":"tanh"}],
              "shortcut":[{"type":"conv2d","filters":6,"kernel":1,"stride":2}]},
             {"type":"flatten"},{"type":"dropout","rate":0.2},{"type":"dense","units":3}]""";
    static final int[] INPUT = {2, 6, 6};
    static final int BATCH = 3;

    @Test
    void everyLentTensorComesBackAndTheSecondStepTakesNoNewOne() {
        try (Model m = new Model(backend, ModelTest.layers(NET), INPUT, 5)) {
            SplittableRandom rng = new SplittableRandom(1);
            step(m, rng);
            assertEquals(0, m.gradients().lentCount(), "tensors still lent after a backward pass");
            int held = m.gradients().tensorCount();
            int asking = (int) m.root().allLayers().stream().filter(l -> !(l instanceof Flatten)).count();
            // 14 layers write an input gradient; a chain needs two per shape at a time, a residual block three
            assertTrue(held > 0 && held <= 8, held + " gradient tensors held for " + asking + " layers");
            step(m, rng);
            assertEquals(0, m.gradients().lentCount());
            assertEquals(held, m.gradients().tensorCount(), "the second step took new tensors");
        }
    }

    /**
     * An epoch's smaller last batch must not leave a second set of tensors behind: the full batch's are freed
     * when the smaller ones are taken (as each layer's own input gradient was reallocated before), so a GPU job
     * sized for one batch does not run out of memory at the end of its first epoch.
     */
    @Test
    void aSmallerLastBatchReplacesTheFullBatchTensorsInsteadOfAddingToThem() {
        int heldForSmallBatch;
        try (Model alone = new Model(backend, ModelTest.layers(NET), INPUT, 5)) {
            step(alone, new SplittableRandom(1), BATCH - 1);
            heldForSmallBatch = alone.gradients().tensorCount();
        }
        try (Model m = new Model(backend, ModelTest.layers(NET), INPUT, 5)) {
            step(m, new SplittableRandom(1), BATCH);
            step(m, new SplittableRandom(2), BATCH - 1);
            assertEquals(0, m.gradients().lentCount());
            assertEquals(heldForSmallBatch, m.gradients().tensorCount(),
                    "tensors of the full batch kept beside those of the smaller last batch");
            step(m, new SplittableRandom(3), BATCH);
            assertEquals(0, m.gradients().lentCount());
        }
    }

    @Test
    void aFreeTensorOfAnotherBatchIsClosedWhenANewBatchIsTaken() {
        try (GradientBuffers g = new GradientBuffers(backend)) {
            Tensor full = g.take(4, new int[] {3});
            g.giveBack(full);
            Tensor small = g.take(2, new int[] {3});
            assertEquals(1, g.tensorCount(), "the batch-4 tensor is still held");
            assertTrue(((CpuTensor) full).isClosed(), "the batch-4 tensor was not freed");
            g.giveBack(small);
            assertEquals(small, g.take(2, new int[] {3}), "a free tensor of the same shape is reused");
        }
    }

    @Test
    void sharedTensorsGiveTheSameGradientsAsFreshOnes() {
        try (Model shared = new Model(backend, ModelTest.layers(NET), INPUT, 5);
             Model fresh = new Model(backend, ModelTest.layers(NET), INPUT, 5)) {
            // each layer its own buffers: every backward takes new tensors, nothing is reused across layers
            for (Layer l : fresh.root().allLayers()) {
                l.useGradients(new GradientBuffers(backend));
            }
            // two steps, so that the second runs on tensors that hold the first step's values
            for (long seed = 1; seed <= 2; seed++) {
                step(shared, new SplittableRandom(seed));
                step(fresh, new SplittableRandom(seed));
            }
            List<Param> a = shared.params(), b = fresh.params();
            assertEquals(b.size(), a.size());
            for (int i = 0; i < a.size(); i++) {
                assertArrayEquals(backend.toHost(b.get(i).grad()), backend.toHost(a.get(i).grad()), a.get(i).name());
            }
        }
    }

    private static void step(Model m, SplittableRandom rng) {
        step(m, rng, BATCH);
    }

    private static void step(Model m, SplittableRandom rng, int batch) {
        int[] out = m.outputShape();
        try (Tensor x = backend.fromHost(values(rng, batch * Tensor.sizeOf(INPUT)), GradientCheck.shape(batch, INPUT));
             Tensor dy = backend.fromHost(values(rng, batch * Tensor.sizeOf(out)), GradientCheck.shape(batch, out))) {
            m.forward(x, true);
            m.backward(dy);
        }
    }

    private static float[] values(SplittableRandom rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (rng.nextDouble() * 2 - 1);
        }
        return v;
    }
}
