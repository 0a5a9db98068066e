package io.kiln.engine.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.data.PreparedData;
import io.kiln.engine.nn.Layer;
import io.kiln.engine.nn.Param;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.spec.SpecParser;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fine-tuning: start from a checkpoint, replace the head for another class count, freeze layers. */
class FineTuneTest {
    @TempDir
    static Path root;
    static Path pretrained;

    static final String LAYERS = """
            [{"type":"conv2d","filters":4,"kernel":3,"padding":1},{"type":"batchnorm"},{"type":"relu"},
             {"type":"flatten"},{"type":"dense","units":12},{"type":"relu"},{"type":"dense","units":CLASSES}]""";

    static JobSpec spec(String data, int classes, String init) {
        return SpecParser.parse("""
                {"data":{"name":"%s"},"model":{"layers":%s},"optimizer":{"type":"sgd","lr":0.05,"momentum":0.9},
                 "training":{"epochs":2,"batchSize":25,"seed":1}%s}"""
                .formatted(data, LAYERS.replace("CLASSES", Integer.toString(classes)), init));
    }

    @BeforeAll
    static void pretrain() throws IOException {
        TinyData.write(root, "four", 300, 100, 4, 8, 1);
        TinyData.write(root, "three", 300, 100, 3, 8, 2);
        JobSpec spec = spec("four", 4, "");
        Path out = root.resolve("pre");
        try (CpuBackend b = new CpuBackend(); Trainer t = new Trainer(spec, b, Trainer.loadData(spec, root))) {
            t.run(new TrainingListener() { }, out, null);
        }
        pretrained = out.resolve(Trainer.CHECKPOINT_FILE);
    }

    @Test
    void allButTheLastLayerFrozenTrainsOnlyThatLayer() throws IOException {
        String init = ",\"init\":{\"checkpoint\":\"" + pretrained + "\",\"freeze\":[0,1,2,3,4,5]}";
        JobSpec spec = spec("three", 3, init);
        Checkpoint ckpt = Checkpoint.read(pretrained);
        PreparedData data = Trainer.loadData(spec, root);
        try (CpuBackend b = new CpuBackend(); Trainer t = new Trainer(spec, b, data)) {
            t.startFrom(ckpt);
            assertTrue(t.replacedHead(), "4-class head replaced by a 3-class one");
            Map<String, float[]> before = snapshot(b, t);
            for (Map.Entry<String, float[]> e : before.entrySet()) {
                if (!e.getKey().startsWith("layers.6.")) {
                    assertArrayEquals(ckpt.tensor(e.getKey()).data(), e.getValue(), "loaded " + e.getKey());
                }
            }
            Trainer.Result r = t.run(new TrainingListener() { }, null, null);
            Map<String, float[]> after = snapshot(b, t);
            for (String name : before.keySet()) {
                if (name.startsWith("layers.6.")) {
                    assertFalse(java.util.Arrays.equals(before.get(name), after.get(name)), name + " was trained");
                } else {
                    // Frozen means bit for bit, batch-norm running statistics included.
                    assertArrayEquals(before.get(name), after.get(name), name + " stayed frozen");
                }
            }
            assertTrue(r.testAcc() > 0.6, "the frozen features separate the new classes: " + r.testAcc());
        }
    }

    @Test
    void sameClassCountLoadsEveryLayer() throws IOException {
        JobSpec spec = spec("four", 4, ",\"init\":{\"checkpoint\":\"" + pretrained + "\"}");
        try (CpuBackend b = new CpuBackend(); Trainer t = new Trainer(spec, b, Trainer.loadData(spec, root))) {
            t.startFrom(Checkpoint.read(pretrained));
            assertFalse(t.replacedHead());
            Trainer.Evaluation e = t.evaluate(Trainer.loadData(spec, root).test());
            assertTrue(e.accuracy() > 0.9, "pretrained weights evaluate as trained: " + e.accuracy());
        }
    }

    @Test
    void mismatchBeforeTheHeadIsRefused() {
        JobSpec spec = SpecParser.parse("""
                {"data":{"name":"four"},"model":{"layers":[{"type":"flatten"},{"type":"dense","units":7},
                 {"type":"relu"},{"type":"dense","units":4}]},"optimizer":{"lr":0.1},
                 "init":{"checkpoint":"%s"}}""".formatted(pretrained));
        try (CpuBackend b = new CpuBackend(); Trainer t = new Trainer(spec, b, Trainer.loadData(spec, root))) {
            SpecException e = assertThrows(SpecException.class, () -> t.startFrom(Checkpoint.read(pretrained)));
            assertEquals("init", e.field());
            assertTrue(e.getMessage().contains("layers.1.weight"), e.getMessage());
        }
    }

    @Test
    void freezingALayerThatDoesNotExistIsRefused() {
        JobSpec spec = spec("four", 4, ",\"init\":{\"checkpoint\":\"x\",\"freeze\":[9]}");
        try (CpuBackend b = new CpuBackend()) {
            SpecException e = assertThrows(SpecException.class, () -> new Trainer(spec, b, Trainer.loadData(spec, root)));
            assertEquals("init.freeze", e.field());
        }
    }

    private static Map<String, float[]> snapshot(CpuBackend b, Trainer t) {
        Map<String, float[]> m = new HashMap<>();
        for (Param p : t.model().params()) {
            m.put(p.name(), b.toHost(p.value()));
        }
        for (Layer.NamedTensor n : t.model().buffers()) {
            m.put(n.name(), b.toHost(n.tensor()));
        }
        return m;
    }
}
