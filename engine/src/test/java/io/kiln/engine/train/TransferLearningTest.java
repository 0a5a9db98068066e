package io.kiln.engine.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.data.InsectImages;
import io.kiln.engine.nn.Layer;
import io.kiln.engine.nn.ModuleNames;
import io.kiln.engine.nn.Param;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.spec.SpecParser;
import io.kiln.engine.weights.PretrainedCheckpoint;
import io.kiln.engine.weights.PyTorchFixtures;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The two modes of PyTorch's transfer-learning tutorial, on a small image folder of photos of different sizes
 * through the ImageNet-style transforms, starting from a ResNet-18 (at width 4) whose weights PyTorch saved:
 * with everything but the last layer frozen only {@code fc} trains and every other tensor, batch-norm statistics
 * included, stays bit for bit; fine-tuning changes every tensor.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TransferLearningTest {
    @TempDir
    static Path root;
    static Path pretrained;

    @BeforeAll
    static void prepare() throws IOException {
        InsectImages.write(root, "insects", 16, 6, 4);
        PyTorchFixtures.Fixture f = PyTorchFixtures.fixture("resnet18_w4");
        var options = new ObjectMapper().createObjectNode().put("width", 4);
        PretrainedCheckpoint.Imported imported = PretrainedCheckpoint.create(f.weights(0), new PretrainedCheckpoint.Options(
                "resnet18", null, new int[] {3, 48, 48}, "imagenet", 56, null, 0, options));
        pretrained = root.resolve("resnet18-w4.kiln");
        imported.checkpoint().write(pretrained);
    }

    static JobSpec spec(String freeze) {
        return SpecParser.parse("""
                {"name":"insects","data":{"name":"insects","normalize":"imagenet","validationSplit":0.25,
                  "transform":{"randomResizedCrop":48,"flip":true,"resize":56,"centerCrop":48}},
                 "model":{"preset":"resnet18","width":4},
                 "optimizer":{"type":"sgd","lr":0.01,"momentum":0.9},
                 "training":{"epochs":2,"batchSize":8,"seed":3},
                 "init":{"checkpoint":"%s"%s}}""".formatted(pretrained, freeze == null ? "" : ",\"freeze\":" + freeze));
    }

    record Run(Map<String, float[]> before, Map<String, float[]> after, ModuleNames names, Trainer.Result result) {
        /** The PyTorch names of the tensors whose values changed. */
        List<String> changed() {
            return before.keySet().stream().filter(k -> !Arrays.equals(before.get(k), after.get(k))).toList();
        }
    }

    static Run train(String freeze) throws IOException {
        JobSpec spec = spec(freeze);
        try (CpuBackend b = new CpuBackend(2); Trainer t = new Trainer(spec, b, Trainer.loadData(spec, root))) {
            t.startFrom(Checkpoint.read(pretrained));
            assertTrue(t.replacedHead(), "the 5-class fc is replaced by a 2-class one");
            Map<String, float[]> before = snapshot(b, t);
            Trainer.Result r = t.run(new TrainingListener() { }, null, null);
            return new Run(before, snapshot(b, t), ModuleNames.of(t.model()), r);
        }
    }

    @Test
    void freezingAllButTheLastLayerTrainsOnlyFc() throws IOException {
        Run run = train("\"all-but-last\"");
        assertEquals(List.of("fc.weight", "fc.bias"), run.changed(), "only fc trains; everything else stays bit for bit, "
                + "batch-norm running statistics included");
        assertTrue(run.before().containsKey("layer4.1.bn2.running_var"));
        Checkpoint ckpt = Checkpoint.read(pretrained);
        for (Map.Entry<String, float[]> e : run.before().entrySet()) {
            Checkpoint.Entry loaded = pretrainedTensor(ckpt, run.names(), e.getKey());
            if (!e.getKey().startsWith("fc.")) {
                assertArrayEquals(loaded.data(), e.getValue(), e.getKey() + " is the pretrained tensor");
            }
        }
    }

    @Test
    void fineTuningChangesEveryTensor() throws IOException {
        Run run = train(null);
        List<String> unchanged = run.before().keySet().stream().filter(Predicate.not(run.changed()::contains)).toList();
        assertEquals(List.of(), unchanged, "fine-tuning changes every weight and batch-norm statistic");
        assertTrue(Double.isFinite(run.result().testLoss()));
    }

    @Test
    void layersAreFrozenByTheirPyTorchNames() throws IOException {
        Run run = train("[\"conv1\", \"bn1\", \"layer1\", \"layer2.0\", \"layer3.0.bn1\", 3]");
        for (String name : run.before().keySet()) {
            boolean frozen = name.startsWith("conv1.") || name.startsWith("bn1.") || name.startsWith("layer1.")
                    || name.startsWith("layer2.0.") || name.startsWith("layer3.0.bn1.");
            assertEquals(!frozen, run.changed().contains(name), name + (frozen ? " frozen" : " trained"));
        }
    }

    @Test
    void anUnknownLayerNameIsRefusedWithTheNamesThereAre() {
        JobSpec spec = spec("[\"fc\", \"layer9\"]");
        try (CpuBackend b = new CpuBackend(1)) {
            SpecException e = assertThrows(SpecException.class, () -> new Trainer(spec, b, Trainer.loadData(spec, root)));
            assertEquals("init.freeze[1]", e.field());
            assertTrue(e.getMessage().contains("no layer with weights is called \"layer9\"")
                    && e.getMessage().contains("conv1, bn1, layer1, layer2, layer3, layer4, fc"), e.getMessage());
        }
    }

    /** The checkpoint's tensor that has PyTorch name {@code torchName}. */
    static Checkpoint.Entry pretrainedTensor(Checkpoint ckpt, ModuleNames names, String torchName) {
        return ckpt.tensors().values().stream().filter(e -> e.kind() != Checkpoint.Kind.OPTIMIZER
                && names.torchTensor(e.name()).equals(torchName)).findFirst().orElseThrow();
    }

    /** Every parameter and buffer by its PyTorch name. */
    static Map<String, float[]> snapshot(CpuBackend b, Trainer t) {
        ModuleNames names = ModuleNames.of(t.model());
        Map<String, float[]> m = new LinkedHashMap<>();
        for (Param p : t.model().params()) {
            m.put(names.torchTensor(p.name()), b.toHost(p.value()));
        }
        for (Layer.NamedTensor n : t.model().buffers()) {
            m.put(names.torchTensor(n.name()), b.toHost(n.tensor()));
        }
        assertFalse(m.isEmpty());
        return m;
    }
}
