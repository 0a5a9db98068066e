package io.kiln.engine.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kiln.engine.backend.cuda.CudaDevices;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.train.TinyData;
import io.kiln.engine.train.Trainer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The engine's command line end to end on a small generated dataset (CONTRACT.md's JSON lines and exit codes). */
class EngineMainTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path root;

    @BeforeAll
    static void data() throws IOException {
        TinyData.write(root, "tiny", 600, 200, 4, 8, 1);
    }

    static String spec(String model, String extra) {
        return """
                {"name":"t","data":{"name":"tiny","validationSplit":0.2},"model":%s,
                 "optimizer":{"type":"sgd","lr":0.05,"momentum":0.9},
                 "training":{"epochs":%s,"batchSize":32,"seed":3}%s}"""
                .formatted(model, "EPOCHS", extra);
    }

    static final String MLP = "{\"layers\":[{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":16},{\"type\":\"relu\"},"
            + "{\"type\":\"dropout\",\"rate\":0.1},{\"type\":\"dense\",\"units\":4}]}";

    record Run(int exit, List<JsonNode> events) {
        JsonNode last() {
            return events.get(events.size() - 1);
        }

        List<JsonNode> of(String type) {
            return events.stream().filter(e -> e.path("event").asText().equals(type)).toList();
        }
    }

    static Run run(String... args) throws IOException {
        return capture(() -> EngineMain.run(args));
    }

    /** Runs a command, returning its exit code and the JSON events it printed on stdout. */
    static Run capture(IntSupplier command) throws IOException {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int exit;
        try (PrintStream capture = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            System.setOut(capture);
            exit = command.getAsInt();
        } finally {
            System.setOut(old);
        }
        List<JsonNode> events = new ArrayList<>();
        for (String line : buf.toString(StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) {
                events.add(JSON.readTree(line));
            }
        }
        return new Run(exit, events);
    }

    static Path write(Path dir, String name, String text) throws IOException {
        Path f = dir.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    @Test
    void trainsAndPrintsTheContractEvents(@TempDir Path tmp) throws IOException {
        Path specFile = write(tmp, "s.json", spec(MLP, "").replace("EPOCHS", "3"));
        Path out = tmp.resolve("out");
        Run r = run("train", "--spec", specFile.toString(), "--data-root", root.toString(), "--device", "cpu",
                "--out", out.toString());
        assertEquals(0, r.exit(), r.events().toString());
        JsonNode start = r.events().get(0);
        assertEquals("start", start.get("event").asText());
        assertEquals(15, start.get("steps_per_epoch").asInt(), "480 training samples in batches of 32");
        assertEquals(480, start.get("train_samples").asInt());
        assertEquals(120, start.get("val_samples").asInt());
        List<JsonNode> epochs = r.of("epoch");
        assertEquals(3, epochs.size());
        List<JsonNode> steps = r.of("step");
        assertEquals(45, steps.size(), "one step event per batch: 15 steps in 3 epochs (fewer than 50 per epoch)");
        for (int e = 0; e < 3; e++) {
            JsonNode epoch = epochs.get(e);
            assertEquals(e + 1, epoch.get("epoch").asInt());
            // the epoch's training loss is the mean over its batches (all of 32 samples) of the steps' losses
            double mean = 0;
            for (int s = 0; s < 15; s++) {
                JsonNode step = steps.get(15 * e + s);
                assertEquals(e + 1, step.get("epoch").asInt());
                assertEquals(s + 1, step.get("step").asInt());
                assertEquals(15, step.get("steps").asInt());
                assertEquals(0.05, step.get("lr").asDouble(), 1e-9, "no schedule: the spec's rate");
                mean += step.get("loss").asDouble() / 15;
            }
            assertEquals(mean, epoch.get("train_loss").asDouble(), 1e-6 * mean, "epoch " + (e + 1));
            for (String f : List.of("train_acc", "val_acc")) {
                double correct = epoch.get(f).asDouble() * (f.equals("train_acc") ? 480 : 120);
                assertTrue(correct >= 0 && correct <= (f.equals("train_acc") ? 480 : 120)
                        && Math.abs(correct - Math.rint(correct)) < 1e-6, f + " is a fraction of the samples: " + epoch);
            }
            assertTrue(epoch.get("val_loss").asDouble() > 0 && epoch.get("seconds").asDouble() > 0
                    && epoch.get("samples_per_s").asDouble() > 0, epoch.toString());
        }
        assertTrue(epochs.get(2).get("val_acc").asDouble() > 0.9, "the classes are separable: " + epochs.get(2));
        assertEquals(3, r.of("checkpoint").size());
        JsonNode done = r.last();
        assertEquals("done", done.get("event").asText());
        assertTrue(done.get("test_acc").asDouble() > 0.9, "the classes are separable: " + done);
        Checkpoint ckpt = Checkpoint.read(out.resolve(Trainer.CHECKPOINT_FILE));
        assertEquals(3, ckpt.epoch());
        assertEquals(45, ckpt.globalStep());
        assertEquals(epochs.get(2).get("train_loss").asDouble(), ckpt.info().get("train_loss").asDouble(), 1e-12);
        assertEquals(epochs.get(2).get("val_acc").asDouble(), ckpt.info().get("val_acc").asDouble(), 1e-12);

        // The saved weights evaluate to the same test accuracy.
        Run eval = run("evaluate", "--checkpoint", out.resolve(Trainer.CHECKPOINT_FILE).toString(),
                "--data-root", root.toString(), "--device", "cpu");
        assertEquals(0, eval.exit(), eval.events().toString());
        assertEquals(done.get("test_acc").asDouble(), eval.last().get("test_acc").asDouble(), 1e-9);

        // The report covers the whole test set with the same accuracy.
        Path html = tmp.resolve("report.html");
        Run report = run("report", "--checkpoint", out.resolve(Trainer.CHECKPOINT_FILE).toString(),
                "--data-root", root.toString(), "--out", html.toString(), "--images", "20", "--device", "cpu");
        assertEquals(0, report.exit(), report.events().toString());
        assertEquals(done.get("test_acc").asDouble(), report.last().get("test_acc").asDouble(), 1e-9);
        String page = Files.readString(html);
        assertTrue(page.contains("Confusion matrix") && page.contains("<figure"), "report page written");

        // A new image with class 2's pattern (row 4 of 8 lit) is classified as class 2.
        Path png = tmp.resolve("two.png");
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
        for (int x = 0; x < 8; x++) {
            for (int y = 0; y < 8; y++) {
                img.getRaster().setSample(x, y, 0, y == 4 ? 230 : 40);
            }
        }
        javax.imageio.ImageIO.write(img, "png", png.toFile());
        Run predict = run("predict", "--checkpoint", out.resolve(Trainer.CHECKPOINT_FILE).toString(), "--device", "cpu",
                png.toString());
        assertEquals(0, predict.exit(), predict.events().toString());
        assertEquals(2, predict.last().get("predicted").asInt(), predict.last().toString());
        assertEquals(4, predict.last().get("scores").size());
    }

    @Test
    void resumingGivesTheSameWeightsAsAnUninterruptedRun(@TempDir Path tmp) throws IOException {
        Path two = write(tmp, "two.json", spec(MLP, "").replace("EPOCHS", "2"));
        Path one = write(tmp, "one.json", spec(MLP, "").replace("EPOCHS", "1"));
        Path straight = tmp.resolve("straight");
        Path resumed = tmp.resolve("resumed");
        assertEquals(0, run("train", "--spec", two.toString(), "--data-root", root.toString(), "--device", "cpu",
                "--out", straight.toString()).exit());
        assertEquals(0, run("train", "--spec", one.toString(), "--data-root", root.toString(), "--device", "cpu",
                "--out", resumed.toString()).exit());
        Run r = run("train", "--spec", two.toString(), "--data-root", root.toString(), "--device", "cpu",
                "--out", resumed.toString(), "--resume");
        assertEquals(0, r.exit());
        assertEquals(2, r.events().get(0).get("start_epoch").asInt());
        assertEquals(1, r.of("epoch").size(), "only the second epoch runs again");
        Checkpoint a = Checkpoint.read(straight.resolve(Trainer.CHECKPOINT_FILE));
        Checkpoint b = Checkpoint.read(resumed.resolve(Trainer.CHECKPOINT_FILE));
        assertEquals(a.globalStep(), b.globalStep());
        for (var e : a.tensors().values()) {
            assertArrayEquals(e.data(), b.tensor(e.name()).data(), 1e-6f, e.name());
        }
    }

    @Test
    void badSpecExitsTwoNamingTheField(@TempDir Path tmp) throws IOException {
        Path specFile = write(tmp, "s.json", spec(MLP, "").replace("EPOCHS", "0"));
        Run r = run("train", "--spec", specFile.toString(), "--data-root", root.toString(), "--device", "cpu");
        assertEquals(2, r.exit());
        assertEquals("error", r.last().get("event").asText());
        assertTrue(r.last().get("message").asText().startsWith("training.epochs: "), r.last().toString());
    }

    @Test
    void modelThatDoesNotFitTheDataExitsTwo(@TempDir Path tmp) throws IOException {
        String tooMany = MLP.replace("\"units\":4", "\"units\":10");
        Run r = run("train", "--spec", write(tmp, "s.json", spec(tooMany, "").replace("EPOCHS", "1")).toString(),
                "--data-root", root.toString(), "--device", "cpu");
        assertEquals(2, r.exit());
        assertTrue(r.last().get("message").asText().contains("10 outputs but tiny has 4 classes"), r.last().toString());
    }

    @Test
    void missingDataExitsTwoNamingTheFolder(@TempDir Path tmp) throws IOException {
        Path specFile = write(tmp, "s.json", spec(MLP, "").replace("EPOCHS", "1").replace("\"tiny\"", "\"nosuch\""));
        Run r = run("train", "--spec", specFile.toString(), "--data-root", root.toString(), "--device", "cpu");
        assertEquals(2, r.exit());
        assertTrue(r.last().get("message").asText().contains("nosuch"), r.last().toString());
    }

    @Test
    void divergenceExitsFiveAndSuggestsALowerRate(@TempDir Path tmp) throws IOException {
        String s = spec(MLP, ",\"loss\":\"mse\"").replace("EPOCHS", "2").replace("\"lr\":0.05", "\"lr\":90")
                .replace("\"validationSplit\":0.2", "\"validationSplit\":0.2,\"normalize\":\"none\"");
        Run r = run("train", "--spec", write(tmp, "s.json", s).toString(), "--data-root", root.toString(), "--device", "cpu");
        assertEquals(TrainCommand.EXIT_DIVERGED, r.exit(), r.events().toString());
        assertEquals(5, TrainCommand.EXIT_DIVERGED, "the exit code documented in README.md");
        String message = r.last().get("message").asText();
        assertTrue(message.contains("diverged") && message.contains("lower optimizer.lr"), message);
    }

    /** A device that is not there, on any machine: no GPU at all, or fewer than 100. */
    @Test
    void aCudaDeviceThatIsNotThereExitsTwo(@TempDir Path tmp) throws IOException {
        Path specFile = write(tmp, "s.json", spec(MLP, "").replace("EPOCHS", "1"));
        Run r = run("train", "--spec", specFile.toString(), "--data-root", root.toString(), "--device", "cuda:99");
        assertEquals(2, r.exit());
        assertTrue(r.last().get("message").asText().contains("no CUDA device"), r.last().toString());
        assertEquals(List.of(), r.of("start"), "nothing was trained");
    }

    @Test
    void cudaWithoutAGpuExitsTwo(@TempDir Path tmp) throws IOException {
        String gpu = CudaDevices.unavailableReason() == null ? "a CUDA device is present" : null;
        assumeTrue(gpu == null, gpu);
        Path specFile = write(tmp, "s.json", spec(MLP, "").replace("EPOCHS", "1"));
        Run r = run("train", "--spec", specFile.toString(), "--data-root", root.toString(), "--device", "cuda");
        assertEquals(2, r.exit());
        assertTrue(r.last().get("message").asText().contains("no CUDA device"), r.last().toString());
    }

    @Test
    void benchPrintsOneObjectPerModel() throws IOException {
        Run r = run("bench", "--device", "cpu", "--models", "mlp,cnn", "--seconds", "0.2");
        assertEquals(0, r.exit());
        assertEquals(2, r.events().size());
        assertEquals("mlp", r.events().get(0).get("model").asText());
        assertEquals(100, r.events().get(0).get("batch").asInt());
        assertTrue(r.events().get(1).get("img_per_s").asDouble() > 0);
    }

    /** bench and gpu-check share --precision: a bad value is bad input (exit 2) for both, named before any work. */
    @ParameterizedTest
    @ValueSource(strings = {"bench", "gpu-check"})
    void anUnknownPrecisionExitsTwoNamingTheChoices(String command) throws IOException {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Run r;
        try (PrintStream capture = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            System.setErr(capture);
            r = run(command, "--device", command.equals("bench") ? "cpu" : "cuda", "--precision", "fp16");
        } finally {
            System.setErr(old);
        }
        assertEquals(2, r.exit());
        assertEquals(List.of(), r.events());
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("unknown precision \"fp16\"; use fp32 or tf32"),
                err.toString(StandardCharsets.UTF_8));
    }
}
