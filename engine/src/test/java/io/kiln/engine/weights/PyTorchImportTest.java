package io.kiln.engine.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.nn.Model;
import io.kiln.engine.nn.Param;
import io.kiln.engine.spec.SpecParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Weights saved by real PyTorch give, once imported, the logits PyTorch computed for the same inputs in evaluation
 * mode (batch norm on its running statistics), within 1e-4. The committed fixtures come from
 * {@code src/test/resources/pytorch/make_fixtures.py}; the full-size ResNet-18 is made by the same script during the
 * test when python3 can import torch.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class PyTorchImportTest {
    static final float TOLERANCE = 1e-4f;
    static CpuBackend backend;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    @Test
    void resnet18SavedByTorchSaveGivesPyTorchsLogits() throws IOException {
        PyTorchFixtures.Fixture f = PyTorchFixtures.fixture("resnet18_w4");
        Map<String, WeightTensor> tensors = WeightFiles.read(f.weights(0));
        assertEquals("float32", tensors.get("conv1.weight").dtype());
        assertEquals("int64", tensors.get("bn1.num_batches_tracked").dtype());
        checkLogits(f, tensors);
    }

    @Test
    void theSameWeightsAsSafetensorsGiveTheSameLogits() throws IOException {
        PyTorchFixtures.Fixture f = PyTorchFixtures.fixture("resnet18_w4");
        Map<String, WeightTensor> tensors = WeightFiles.read(f.weights(1));
        assertEquals("F32", tensors.get("layer2.0.downsample.0.weight").dtype());
        checkLogits(f, tensors);
    }

    @Test
    void sequentialNamesAndAStridedTensorMapOntoAPresetMlp() throws IOException {
        PyTorchFixtures.Fixture f = PyTorchFixtures.fixture("mlp_bn");
        checkLogits(f, WeightFiles.read(f.weights(0)));
    }

    private static void checkLogits(PyTorchFixtures.Fixture f, Map<String, WeightTensor> tensors) throws IOException {
        try (Model model = f.model(backend)) {
            WeightImport.Result r = WeightImport.load(backend, model, tensors, f.name(), false);
            assertEquals(model.params().size() + model.buffers().size(), r.loaded().size(), "every tensor loaded");
            assertTrue(r.freshHead().isEmpty());
            assertEquals(tensors.keySet().stream().filter(k -> k.endsWith("num_batches_tracked")).count(),
                    r.ignored().size(), "only num_batches_tracked is ignored");
            assertClose(f.logits(), PyTorchFixtures.kilnLogits(backend, model, f), f.name());
        }
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": number of logits");
        float worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        if (!(worst <= TOLERANCE)) {
            fail(what + ": largest difference from PyTorch " + worst + " > " + TOLERANCE + "; PyTorch "
                    + Arrays.toString(expected) + ", Kiln " + Arrays.toString(actual));
        }
    }

    @Test
    void aNewHeadForAnotherClassCountKeepsItsInitialisation() throws IOException {
        PyTorchFixtures.Fixture f = PyTorchFixtures.fixture("resnet18_w4");
        Map<String, WeightTensor> tensors = WeightFiles.read(f.weights(0));
        try (Model model = Model.build(backend, f.spec(), f.input(), 3)) {
            float[] freshFc = backend.toHost(param(model, "fc", "weight").value());
            WeightImport.Result r = WeightImport.load(backend, model, tensors, "file", true);
            assertEquals(List.of(param(model, "fc", "weight").name(), param(model, "fc", "bias").name()), r.freshHead());
            assertTrue(Arrays.equals(freshFc, backend.toHost(param(model, "fc", "weight").value())), "fc kept");
            float[] conv1 = backend.toHost(model.params().get(0).value());
            assertTrue(Arrays.equals(tensors.get("conv1.weight").values(), conv1), "conv1 loaded");
            WeightsException e = assertThrows(WeightsException.class,
                    () -> WeightImport.load(backend, model, tensors, "file", false));
            assertTrue(e.getMessage().contains("wrong shape (2): fc.weight is [5, 32] in the file but [3, 32] in the model"),
                    e.getMessage());
        }
    }

    @Test
    void aFileOfAnotherModelIsRefusedListingMissingUnexpectedAndMisShapedTensors() throws IOException {
        PyTorchFixtures.Fixture f = PyTorchFixtures.fixture("resnet18_w4");
        Map<String, WeightTensor> tensors = new LinkedHashMap<>(WeightFiles.read(f.weights(0)));
        tensors.remove("layer3.1.bn2.running_var");
        tensors.put("head.weight", tensors.get("fc.weight"));
        String spec = "{\"data\":{\"name\":\"x\"},\"model\":{\"preset\":\"resnet18\",\"width\":8},\"optimizer\":{\"lr\":0.1}}";
        try (Model wider = Model.build(backend, SpecParser.parse(spec), f.input(), 5)) {
            WeightsException e = assertThrows(WeightsException.class,
                    () -> WeightImport.load(backend, wider, tensors, "weights.pt", false));
            String m = e.getMessage();
            assertTrue(m.startsWith("weights.pt: the weights do not fit the model (preset resnet18)"), m);
            assertTrue(m.contains("missing from the file (1): layer3.1.bn2.running_var"), m);
            assertTrue(m.contains("unexpected in the file (1): head.weight"), m);
            assertTrue(m.contains("conv1.weight is [4, 3, 7, 7] in the file but [8, 3, 7, 7] in the model"), m);
            assertTrue(m.contains(", and "), "a long list is cut short: " + m);
        }
    }

    @Test
    void dataParallelPrefixesAreStripped() throws IOException {
        PyTorchFixtures.Fixture f = PyTorchFixtures.fixture("mlp_bn");
        Map<String, WeightTensor> prefixed = new LinkedHashMap<>();
        WeightFiles.read(f.weights(0)).forEach((k, v) -> prefixed.put("module." + k, v));
        try (Model model = f.model(backend)) {
            WeightImport.load(backend, model, prefixed, "file", false);
            assertClose(f.logits(), PyTorchFixtures.kilnLogits(backend, model, f), "module.-prefixed");
        }
    }

    @Test
    void fullSizeResNet18MadeByPyTorchNowGivesItsLogits(@TempDir Path dir) throws Exception {
        String python = PyTorchFixtures.pythonWithTorch();
        Assumptions.assumeTrue(python != null, "skipped: no python3 that can import torch (set KILN_TEST_PYTHON, or "
                + "install Debian's python3-torch) to make a full-size ResNet-18 with PyTorch");
        Process p = new ProcessBuilder(python, PyTorchFixtures.dir().resolve("make_fixtures.py").toString(),
                "--resnet18", dir.toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "make_fixtures.py --resnet18 finished");
        assertEquals(0, p.exitValue(), "make_fixtures.py --resnet18: " + log);
        JsonNode json = PyTorchFixtures.JSON.readTree(dir.resolve("resnet18.json").toFile());
        PyTorchFixtures.Fixture f = new PyTorchFixtures.Fixture("resnet18", ((com.fasterxml.jackson.databind.node.ObjectNode) json)
                .put("inputs", "resnet18.inputs.bin").set("weights", PyTorchFixtures.JSON.createArrayNode().add("resnet18.pt")),
                dir);
        Map<String, WeightTensor> tensors = WeightFiles.read(f.weights(0));
        assertEquals(122, tensors.size(), "torchvision's ResNet-18 state dict has 122 entries");
        try (Model model = f.model(backend)) {
            assertEquals(11_689_512, model.parameterCount(), "torchvision's ResNet-18 parameter count");
            WeightImport.load(backend, model, tensors, "resnet18.pt", false);
            assertClose(f.logits(), PyTorchFixtures.kilnLogits(backend, model, f), "ResNet-18 at 224x224");
        }
        assertFalse(Files.size(dir.resolve("resnet18.pt")) < 40_000_000, "a full-size state dict");
    }

    private static Param param(Model m, String torchLayer, String part) {
        String kiln = io.kiln.engine.nn.ModuleNames.of(m).layers().entrySet().stream()
                .filter(e -> e.getValue().equals(torchLayer)).findFirst().orElseThrow().getKey();
        return m.params().stream().filter(p -> p.name().equals(kiln + "." + part)).findFirst().orElseThrow();
    }
}
