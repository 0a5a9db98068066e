package io.kiln.engine.cli;

import static io.kiln.engine.cli.EngineMainTest.run;
import static io.kiln.engine.cli.EngineMainTest.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.engine.data.captions.SyntheticCaptions;
import io.kiln.engine.checkpoint.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code train} on a captioning folder: the events, the captions event, the checkpoint, resume and bad specs. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CaptioningCommandTest {
    private static final String SPEC = """
            {"name": "cap", "data": {"name": "coco", "maxTrain": 100},
             "model": {"preset": "captioning", "cell": "lstm", "wordvec": 16, "hidden": HIDDEN, "samples": 2},
             "loss": "temporal_softmax", "optimizer": {"type": "adam", "lr": 0.01},
             "training": {"epochs": EPOCHS, "batchSize": 25, "seed": 1}}""";

    private static String spec(int epochs, int hidden) {
        return SPEC.replace("EPOCHS", String.valueOf(epochs)).replace("HIDDEN", String.valueOf(hidden));
    }

    @Test
    void trainsSamplesCheckpointsAndResumes(@TempDir Path tmp) throws Exception {
        Path root = tmp.resolve("data");
        SyntheticCaptions.write(root.resolve("coco"), SyntheticCaptions.ATTRIBUTE_WORDS, SyntheticCaptions.attributes(80, 1),
                SyntheticCaptions.attributes(10, 2), false, true);
        Path out = tmp.resolve("out");
        Path specFile = write(tmp, "s.json", spec(2, 32));
        EngineMainTest.Run r = run("train", "--spec", specFile.toString(), "--data-root", root.toString(), "--device",
                "cpu", "--out", out.toString());
        assertEquals(0, r.exit(), r.events().toString());
        JsonNode start = r.events().get(0);
        assertEquals(100, start.get("train_samples").asInt());
        assertEquals(20, start.get("val_samples").asInt());
        assertEquals(4, start.get("steps_per_epoch").asInt());
        assertEquals(2, r.of("epoch").size());
        JsonNode e1 = r.of("epoch").get(0), e2 = r.of("epoch").get(1);
        assertTrue(e2.get("train_loss").asDouble() < e1.get("train_loss").asDouble(), r.of("epoch").toString());
        assertTrue(e1.get("val_loss").isNumber() && e1.get("train_acc").isNumber());
        JsonNode caps = r.of("captions").get(1);
        assertEquals(2, caps.get("epoch").asInt());
        assertTrue(caps.get("val_bleu4").isNumber());
        assertEquals(4, caps.get("samples").size());
        JsonNode val = caps.get("samples").get(2);
        assertEquals("val", val.get("split").asText());
        assertEquals("http://images.example/val/" + val.get("image").asInt() + ".jpg", val.get("url").asText());
        assertEquals(2, val.get("truth").size(), "both captions of the image");
        assertTrue(val.get("truth").get(0).asText().endsWith("<END>"));
        assertEquals("done", r.last().get("event").asText());

        Checkpoint ckpt = Checkpoint.read(out.resolve("checkpoint.kiln"));
        assertEquals(2, ckpt.epoch());
        assertEquals("captioning", ckpt.info().get("kind").asText());
        assertEquals(24, ckpt.info().get("idx_to_word").size());
        assertEquals(32, ckpt.info().get("hidden").asInt());
        assertEquals(4, ckpt.info().get("samples").size());

        Path page = tmp.resolve("report.html");
        EngineMainTest.Run report = run("report", "--checkpoint", out.resolve("checkpoint.kiln").toString(),
                "--data-root", root.toString(), "--out", page.toString());
        assertEquals(0, report.exit(), report.events().toString());
        String html = Files.readString(page);
        assertTrue(html.contains("validation BLEU-4"), html);
        assertTrue(html.contains("<a href=\"" + val.get("url").asText() + "\">"), html);
        assertTrue(html.contains(val.get("truth").get(1).asText().replace("<", "&lt;").replace(">", "&gt;")), html);

        Files.writeString(specFile, spec(3, 32));
        EngineMainTest.Run resumed = run("train", "--spec", specFile.toString(), "--data-root", root.toString(),
                "--device", "cpu", "--out", out.toString(), "--resume");
        assertEquals(0, resumed.exit(), resumed.events().toString());
        assertEquals(3, resumed.events().get(0).get("start_epoch").asInt());
        assertEquals(1, resumed.of("epoch").size());
        assertEquals(3, Checkpoint.read(out.resolve("checkpoint.kiln")).epoch());

        Files.writeString(specFile, spec(4, 48));
        EngineMainTest.Run other = run("train", "--spec", specFile.toString(), "--data-root", root.toString(),
                "--device", "cpu", "--out", out.toString(), "--resume");
        assertEquals(2, other.exit());
        assertTrue(other.last().get("message").asText().contains("hidden"), other.last().toString());
    }

    @Test
    void refusesAClassifierLossAndAClassifierOnCaptions(@TempDir Path tmp) throws Exception {
        Path root = tmp.resolve("data");
        SyntheticCaptions.write(root.resolve("coco"), SyntheticCaptions.ATTRIBUTE_WORDS, SyntheticCaptions.attributes(5, 1),
                SyntheticCaptions.attributes(2, 2), false, false);
        Path bad = write(tmp, "bad.json", spec(1, 8).replace("temporal_softmax", "softmax_cross_entropy"));
        EngineMainTest.Run r = run("train", "--spec", bad.toString(), "--data-root", root.toString(), "--device", "cpu");
        assertEquals(2, r.exit());
        assertTrue(r.last().get("message").asText().contains("temporal_softmax"), r.last().toString());
        Path mlp = write(tmp, "mlp.json", """
                {"name": "m", "data": {"name": "coco"}, "model": {"preset": "mlp"}, "optimizer": {"type": "sgd", "lr": 0.1},
                 "training": {"epochs": 1, "batchSize": 5}}""");
        r = run("train", "--spec", mlp.toString(), "--data-root", root.toString(), "--device", "cpu");
        assertEquals(2, r.exit());
        assertTrue(r.last().get("message").asText().contains("captioning"), r.last().toString());
    }
}
