package io.kiln.engine.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.spec.LayerSpec;
import io.kiln.engine.spec.Presets;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.spec.SpecParser;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

class ModelTest {
    @AutoClose
    static final CpuBackend backend = new CpuBackend(1);

    static List<LayerSpec> layers(String json) {
        return SpecParser.parse("{\"data\":{\"name\":\"d\"},\"model\":{\"layers\":" + json + "},\"optimizer\":{\"lr\":0.1}}")
                .model().layers();
    }

    @Test
    void sameSeedSameWeightsOtherSeedOtherWeights() {
        List<LayerSpec> l = layers("[{\"type\":\"dense\",\"units\":50}]");
        try (Model a = new Model(backend, l, new int[] {20}, 1); Model b = new Model(backend, l, new int[] {20}, 1);
             Model c = new Model(backend, l, new int[] {20}, 2)) {
            float[] wa = backend.toHost(a.params().get(0).value());
            assertArrayEquals(wa, backend.toHost(b.params().get(0).value()));
            assertFalse(java.util.Arrays.equals(wa, backend.toHost(c.params().get(0).value())));
        }
    }

    @Test
    void heAndXavierScales() {
        // He: normal with std sqrt(2 / fanIn); Xavier: uniform in +-sqrt(6 / (fanIn + fanOut)).
        try (Model he = new Model(backend, layers("[{\"type\":\"dense\",\"units\":200,\"init\":\"he\"}]"), new int[] {400}, 0);
             Model xa = new Model(backend, layers("[{\"type\":\"dense\",\"units\":200,\"init\":\"xavier\"}]"), new int[] {400}, 0)) {
            float[] w = backend.toHost(he.params().get(0).value());
            double sq = 0;
            for (float v : w) {
                sq += v * v;
            }
            assertEquals(Math.sqrt(2.0 / 400), Math.sqrt(sq / w.length), 0.002);
            float[] x = backend.toHost(xa.params().get(0).value());
            double limit = Math.sqrt(6.0 / 600);
            double max = 0;
            for (float v : x) {
                max = Math.max(max, Math.abs(v));
            }
            assertTrue(max <= limit && max > 0.95 * limit, "max " + max + " vs limit " + limit);
            assertArrayEquals(new float[200], backend.toHost(he.params().get(1).value()), "biases start at zero");
        }
    }

    @Test
    void shapeErrorsNameTheLayer() {
        SpecException e = assertThrows(SpecException.class, () -> new Model(backend,
                layers("[{\"type\":\"flatten\"},{\"type\":\"conv2d\",\"filters\":2,\"kernel\":3}]"), new int[] {1, 8, 8}, 0));
        assertEquals("model.layers[1]", e.field());
        e = assertThrows(SpecException.class, () -> new Model(backend,
                layers("[{\"type\":\"conv2d\",\"filters\":2,\"kernel\":9}]"), new int[] {1, 8, 8}, 0));
        assertEquals("model.layers[0]", e.field());
        e = assertThrows(SpecException.class, () -> new Model(backend,
                layers("[{\"type\":\"residual\",\"layers\":[{\"type\":\"conv2d\",\"filters\":4,\"kernel\":3,\"padding\":1}]}]"),
                new int[] {2, 8, 8}, 0));
        assertTrue(e.getMessage().contains("shortcut"), e.getMessage());
    }

    @Test
    void presetsBuildWithTheExpectedSizes() {
        // Parameter counts of the standard networks (weights + biases + batch-norm scales and shifts).
        assertEquals(784 * 100 + 100 + 100 * 10 + 10, count("mlp", new int[] {1, 28, 28}));
        assertEquals(784 * 10 + 10, count("softmax", new int[] {1, 28, 28}));
        assertEquals(784 + 1, count("logistic", new int[] {1, 28, 28}));
        assertEquals(61_706, count("lenet", new int[] {1, 28, 28}));
        // ResNet20 of He et al. has 269,722 with parameter-free shortcuts; ours adds 1x1 projections.
        assertEquals(269_722, count("resnet20", new int[] {3, 32, 32}) - projectionParams());
        // VGG11 with batch norm for CIFAR: 9,231,114 with conv biases, which batch norm makes redundant (2,752).
        assertEquals(9_231_114 - 2_752, count("vgg11", new int[] {3, 32, 32}));
    }

    /** The two 1x1 projection shortcuts (into stages 2 and 3) with their batch norms. */
    private static long projectionParams() {
        return (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64);
    }

    private static long count(String preset, int[] input) {
        var options = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
        try (Model m = new Model(backend, Presets.expand(preset, options, input, preset.equals("logistic") ? 2 : 10), input, 0)) {
            return m.parameterCount();
        }
    }

    @Test
    void frozenPrefixIsSkippedInBackward() {
        try (Model m = new Model(backend, layers("[{\"type\":\"dense\",\"units\":4},{\"type\":\"relu\"},{\"type\":\"dense\",\"units\":3}]"),
                new int[] {5}, 0)) {
            Layer first = m.root().layers().get(0);
            first.setFrozen(true);
            m.refreshBackward();
            assertFalse(m.root().layers().get(0).needInputGrad);
            assertFalse(m.root().layers().get(2).needInputGrad, "nothing before the last dense layer learns");
            first.setFrozen(false);
            m.refreshBackward();
            assertTrue(m.root().layers().get(2).needInputGrad);
        }
    }
}
