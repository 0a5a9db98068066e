package io.kiln.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.data.Dataset;
import io.kiln.engine.data.InsectImages;
import io.kiln.engine.train.Inference;
import io.kiln.engine.weights.PyTorchFixtures;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code import}, {@code predict} and {@code export} end to end: PyTorch weights become a Kiln checkpoint that
 * classifies photos, fine-tunes from the command line, and leaves as an ONNX model that ONNX Runtime runs to the
 * same class scores.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class PretrainedCommandsTest {
    @TempDir
    static Path dir;
    static Path checkpoint;
    static List<Path> photos;

    @BeforeAll
    static void importFixture() throws IOException {
        InsectImages.write(dir, "insects", 6, 3, 2);
        photos = List.of(dir.resolve("insects/test/ants/ants_0.png"), dir.resolve("insects/test/bees/bees_1.jpg"));
        checkpoint = dir.resolve("resnet18-w4.kiln");
        Path names = Files.writeString(dir.resolve("names.txt"), "a\nb\nc\nd\ne\n");
        EngineMainTest.Run r = EngineMainTest.run("import", "--weights",
                PyTorchFixtures.fixture("resnet18_w4").weights(0).toString(), "--preset", "resnet18", "--width", "4",
                "--input", "3,48,48", "--class-names", names.toString(), "--out", checkpoint.toString());
        assertEquals(0, r.exit(), r.events().toString());
        JsonNode e = r.last();
        assertEquals("import", e.path("event").asText());
        assertEquals(5, e.path("classes").asInt());
        assertEquals(102, e.path("tensors").asInt(), "62 parameters and 40 running statistics");
        assertEquals(20, e.path("ignored").asInt(), "num_batches_tracked of the 20 batch norms");
    }

    @Test
    void predictPrintsEveryClassScoreOfEachImage() throws IOException {
        EngineMainTest.Run r = EngineMainTest.run("predict", "--checkpoint", checkpoint.toString(), "--device", "cpu",
                photos.get(0).toString(), photos.get(1).toString());
        assertEquals(0, r.exit(), r.events().toString());
        assertEquals(2, r.events().size(), "one object per image");
        for (JsonNode n : r.events()) {
            JsonNode scores = n.path("scores");
            assertEquals(List.of("a", "b", "c", "d", "e"), iterable(scores.fieldNames()));
            double sum = 0;
            for (JsonNode s : scores) {
                sum += s.asDouble();
            }
            assertEquals(1.0, sum, 1e-4, "softmax probabilities");
        }
    }

    @Test
    void theOnnxExportGivesTheSameScoresAsPredict() throws Exception {
        Path onnx = dir.resolve("model.onnx");
        EngineMainTest.Run r = EngineMainTest.run("export", "--checkpoint", checkpoint.toString(), "--device", "cpu",
                "--onnx", onnx.toString());
        assertEquals(0, r.exit(), r.events().toString());
        assertEquals(13, r.last().path("opset").asInt());
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (CpuBackend cpu = new CpuBackend(2); Inference inference = new Inference(cpu, Checkpoint.read(checkpoint));
             OrtSession session = env.createSession(onnx.toString(), new OrtSession.SessionOptions())) {
            Map<String, String> meta = session.getMetadata().getCustomMetadata();
            assertEquals("[\"a\",\"b\",\"c\",\"d\",\"e\"]", meta.get("classNames"));
            assertTrue(meta.get("normalization").contains("0.485"), meta.get("normalization"));
            assertEquals("{\"resize\":55,\"centerCrop\":48}", meta.get("transform"));
            Dataset set = inference.samples(List.of(Files.readAllBytes(photos.get(0)), Files.readAllBytes(photos.get(1))),
                    List.of("a", "b"));
            float[] x = new float[2 * set.sampleSize()];
            Dataset normalised = set.withNormalization(inference.normalization());
            normalised.copySample(0, x, 0);
            normalised.copySample(1, x, set.sampleSize());
            float[] kiln = inference.scores(set);
            try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {2, 3, 48, 48});
                 OrtSession.Result res = session.run(Map.of("input", in))) {
                float[][] p = (float[][]) res.get("probabilities").orElseThrow().getValue();
                for (int i = 0; i < 2; i++) {
                    for (int k = 0; k < 5; k++) {
                        assertEquals(kiln[i * 5 + k], p[i][k], 1e-4, "image " + i + " class " + k);
                    }
                }
            }
        }
    }

    @Test
    void fineTuningFromTheImportedCheckpointRunsFromTheCommandLine() throws IOException {
        Path spec = insectsSpec("freeze.json", """
                {"checkpoint":"%s","freeze":"all-but-last"}""".formatted(checkpoint));
        EngineMainTest.Run r = EngineMainTest.run("train", "--spec", spec.toString(), "--data-root", dir.toString(),
                "--device", "cpu", "--out", dir.resolve("run").toString());
        assertEquals(0, r.exit(), r.events().toString());
        assertEquals("done", r.last().path("event").asText());
        assertEquals(12, r.of("start").get(0).path("train_samples").asInt());
    }

    @Test
    void initModelStartsFromPyTorchWeightsAndFreezingKeepsAllButTheNewHead() throws IOException {
        Path spec = insectsSpec("model.json", """
                {"model":"resnet18-w4","freeze":"all-but-last"}""");
        Path run = dir.resolve("from-model");
        EngineMainTest.Run unresolved = EngineMainTest.run("train", "--spec", spec.toString(), "--data-root",
                dir.toString(), "--device", "cpu");
        assertEquals(2, unresolved.exit());
        assertTrue(unresolved.last().path("message").asText().contains("--init-weights"), unresolved.last().toString());
        EngineMainTest.Run r = EngineMainTest.run("train", "--spec", spec.toString(), "--data-root", dir.toString(),
                "--device", "cpu", "--out", run.toString(), "--init-weights",
                PyTorchFixtures.fixture("resnet18_w4").weights(0).toString());
        assertEquals(0, r.exit(), r.events().toString());
        Checkpoint imported = Checkpoint.read(checkpoint);
        Checkpoint trained = Checkpoint.read(run.resolve("checkpoint.kiln"));
        int same = 0;
        for (Checkpoint.Entry t : trained.tensors().values()) {
            if (t.kind() == Checkpoint.Kind.OPTIMIZER) {
                continue;
            }
            Checkpoint.Entry before = imported.tensor(t.name());
            if (java.util.Arrays.equals(before.shape(), t.shape())) {
                assertTrue(java.util.Arrays.equals(before.data(), t.data()), t.name() + " is frozen: bit for bit");
                same++;
            } else {
                assertEquals(2, t.shape()[0], t.name() + ": the new head has the data's two classes");
            }
        }
        assertEquals(100, same, "every tensor but the new fc's weight and bias");
    }

    @Test
    void weightsOfAnotherModelAreRefusedNamingWhatDoesNotFit() throws IOException {
        EngineMainTest.Run r = EngineMainTest.run("import", "--weights",
                PyTorchFixtures.fixture("mlp_bn").weights(0).toString(), "--preset", "resnet18", "--out",
                dir.resolve("x.kiln").toString());
        assertEquals(2, r.exit());
        String m = r.last().path("message").asText();
        assertTrue(m.contains("missing from the file (102)") && m.contains("unexpected in the file (7)"), m);
        assertTrue(!Files.exists(dir.resolve("x.kiln")));
        EngineMainTest.Run bad = EngineMainTest.run("import", "--weights", "nope.pt", "--preset", "resnet99", "--out", "x");
        assertEquals(2, bad.exit());
        assertTrue(bad.last().path("message").asText().contains("resnet99"));
    }

    @Test
    void anotherClassCountGetsANewLastLayer() throws IOException {
        Path out = dir.resolve("two.kiln");
        EngineMainTest.Run r = EngineMainTest.run("import", "--weights",
                PyTorchFixtures.fixture("resnet18_w4").weights(1).toString(), "--preset", "resnet18", "--width", "4",
                "--input", "3,48,48", "--classes", "2", "--out", out.toString());
        assertEquals(0, r.exit(), r.events().toString());
        assertTrue(r.last().path("new_head").asBoolean());
        int[] fc = Checkpoint.read(out).tensors().values().stream().filter(t -> t.shape().length == 2).findFirst()
                .orElseThrow().shape();
        assertEquals("[2, 32]", java.util.Arrays.toString(fc), "fc for two classes");
    }

    /** Writes a one-epoch ResNet-18 (width 4) spec over the insect photos whose {@code init} is {@code init}. */
    private static Path insectsSpec(String file, String init) throws IOException {
        return Files.writeString(dir.resolve(file), """
                {"name":"insects","data":{"name":"insects","normalize":"imagenet",
                  "transform":{"randomResizedCrop":48,"flip":true,"resize":55,"centerCrop":48}},
                 "model":{"preset":"resnet18","width":4},"optimizer":{"type":"sgd","lr":0.01,"momentum":0.9},
                 "training":{"epochs":1,"batchSize":4,"seed":1},
                 "init":%s}""".formatted(init));
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
