package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.engine.data.captions.SyntheticCaptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A captioning job through the service: it runs in a worker like a classifier, its curves are stored, its latest
 * metrics carry validation BLEU-4 and the sampled captions the job page shows, and its report shows them too.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class CaptioningJobTest {
    @Test
    void trainsReportsCaptionsAndBleu() throws Exception {
        Path home = Files.createTempDirectory("kiln-captioning");
        SyntheticCaptions.write(home.resolve("data").resolve("coco"), SyntheticCaptions.ATTRIBUTE_WORDS,
                SyntheticCaptions.attributes(60, 1), SyntheticCaptions.attributes(10, 2), false, true);
        try (KilnServer kiln = new KilnServer(home, home.resolve("data"), null, Map.of())) {
            String id = kiln.submit("""
                    {"name": "cap", "data": {"name": "coco"},
                     "model": {"preset": "captioning", "cell": "rnn", "wordvec": 16, "hidden": 32, "samples": 2},
                     "loss": "temporal_softmax", "optimizer": {"type": "adam", "lr": 0.01},
                     "training": {"epochs": 3, "batchSize": 20, "seed": 1}, "device": "cpu"}""");
            JsonNode job = kiln.awaitState(id, "SUCCEEDED", Duration.ofSeconds(150));
            JsonNode m = job.get("metrics");
            assertTrue(m.get("val_bleu4").isNumber(), m.toString());
            assertEquals(3, m.get("captions_epoch").asInt());
            assertEquals(4, m.get("captions").size(), "two training and two validation images");
            assertTrue(m.get("captions").get(0).get("url").asText().startsWith("http://images.example/train/"));
            JsonNode epochs = kiln.get("/api/v1/jobs/" + id + "/metrics", KilnServer.ADMIN).json().get("epochs");
            assertEquals(3, epochs.size());
            assertTrue(epochs.get(2).get("train_loss").asDouble() < epochs.get(0).get("train_loss").asDouble(),
                    epochs.toString());
            KilnServer.Answer report = kiln.get("/api/v1/jobs/" + id + "/report", KilnServer.ADMIN);
            assertEquals(200, report.status(), report.body());
            assertTrue(report.body().contains("validation BLEU-4"), report.body());
            assertTrue(report.body().contains(m.get("captions").get(2).get("sample").asText()
                    .replace("<", "&lt;").replace(">", "&gt;")), report.body());
        }
    }
}
