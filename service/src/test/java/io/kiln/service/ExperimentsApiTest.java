package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** Sweeps, predictions and live events, over real HTTP (uploads: DatasetUploadTest; queue limits: QueueRulesApiTest). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class ExperimentsApiTest {
    static final Duration TIMEOUT = Duration.ofSeconds(120);
    Path home;
    @AutoClose
    KilnServer kiln;

    @BeforeAll
    void start() throws IOException {
        home = Files.createTempDirectory("kiln-experiments");
        Path data = home.resolve("data");
        TestData.write(data, "tiny", 600, 200, 4);
        Path fashion = sharedFashion();
        if (fashion != null) {
            Files.createSymbolicLink(data.resolve("fashion-mnist"), fashion);
        }
        kiln = new KilnServer(home, data, null, Map.of("kiln.worker-heap", "1g"));
    }

    static Path sharedFashion() {
        String root = System.getProperty("kiln.repo.root");
        Path p = (root != null ? Path.of(root) : Path.of("..").toAbsolutePath()).resolve("../shared/data/fashion-mnist").normalize();
        return Files.isDirectory(p) ? p : null;
    }

    @Test
    void aHiddenSizeSweepOnFashionMnistNamesTheBestPoint() {
        assumeTrue(sharedFashion() != null, "the shared Fashion-MNIST data is absent; the sweep test needs it");
        String base = """
                {"name":"fashion-mlp","data":{"name":"fashion-mnist","validationSplit":0.1},
                 "model":{"input":[1,28,28],"layers":[{"type":"flatten"},{"type":"dense","units":100},{"type":"relu"},
                          {"type":"dense","units":10}]},
                 "optimizer":{"type":"sgd","lr":0.01,"momentum":0.9},"training":{"epochs":2,"batchSize":100},
                 "device":"cpu"}""";
        String sweep = "{\"name\":\"hidden\",\"base\":" + base + ",\"grid\":{\"model.layers[1].units\":[10,30,50,100]}}";
        KilnServer.Answer created = kiln.post("/api/v1/sweeps", KilnServer.ADMIN, sweep);
        assertEquals(201, created.status(), created.body());
        String id = created.json().get("id").asText();
        assertEquals(4, created.json().get("points").size());
        JsonNode done = kiln.awaitSweepEnd(id, TIMEOUT);
        assertEquals("SUCCEEDED", done.get("state").asText(), done.toString());
        double bestAcc = 0;
        java.util.Set<Integer> units = new java.util.TreeSet<>();
        for (JsonNode p : done.get("points")) {
            // Each point's row is its job's own figures: best validation accuracy and its epoch, test accuracy, time.
            JsonNode job = kiln.get("/api/v1/jobs/" + p.get("jobId").asText(), KilnServer.ADMIN).json();
            JsonNode epochs = kiln.get("/api/v1/jobs/" + p.get("jobId").asText() + "/metrics", KilnServer.ADMIN).json().get("epochs");
            int bestEpoch = 0;
            double best = -1;
            double seconds = 0;
            for (JsonNode e : epochs) {
                if (e.get("val_acc").asDouble() > best) {
                    best = e.get("val_acc").asDouble();
                    bestEpoch = e.get("epoch").asInt();
                }
                seconds += e.get("seconds").asDouble();
            }
            assertEquals(best, p.get("bestValAcc").asDouble(), p.toString());
            assertEquals(bestEpoch, p.get("bestEpoch").asInt(), p.toString());
            assertEquals(job.get("metrics").get("test_acc").asDouble(), p.get("testAcc").asDouble(), p.toString());
            assertEquals(seconds, p.get("seconds").asDouble(), 1e-9, p.toString());
            assertTrue(p.get("testAcc").asDouble() > 0.7, p.toString());
            int u = p.get("values").get("model.layers[1].units").asInt();
            units.add(u);
            assertEquals(u, job.get("spec").get("model").get("layers").get(1).get("units").asInt(), "the point's job has its values");
            bestAcc = Math.max(bestAcc, p.get("bestValAcc").asDouble());
        }
        assertEquals(java.util.Set.of(10, 30, 50, 100), units, "one job per grid value");
        assertEquals(bestAcc, done.get("best").get("bestValAcc").asDouble(), 1e-12, "best is the highest validation accuracy");
        assertTrue(done.get("best").get("values").has("model.layers[1].units"));
    }

    @Test
    void aBadGridPointIsRefusedNamingIt() {
        String sweep = "{\"base\":" + TestData.spec("s", "tiny", 1) + ",\"grid\":{\"model.layers[1].units\":[8,0]}}";
        KilnServer.Answer a = kiln.post("/api/v1/sweeps", KilnServer.ADMIN, sweep);
        assertEquals(400, a.status());
        assertTrue(a.json().get("message").asText().contains("grid point 2"), a.body());
    }

    @Test
    void predictsUploadedImages() throws Exception {
        String id = kiln.submit(TestData.spec("for-predict", "tiny", 4));
        kiln.awaitState(id, "SUCCEEDED", TIMEOUT);
        // Class 3 of the generated data lights up row 6 of 8.
        BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 8; x++) {
                img.getRaster().setSample(x, y, 0, y == 6 ? 220 : 40);
            }
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(img, "png", png);
        KilnServer.Answer r = ApiTestSupport.multipart(kiln, "/api/v1/jobs/" + id + "/predict", Map.of(), "images", "row6.png", png.toByteArray());
        assertEquals(200, r.status(), r.body());
        JsonNode p = r.json().get("predictions").get(0);
        assertEquals("row6.png", p.get("image").asText());
        assertEquals(3, p.get("predicted").asInt(), p.toString());
    }

    @Test
    void eventsStreamStateChangesUntilTheJobEnds() throws Exception {
        String id = kiln.submit(TestData.spec("for-events", "tiny", 30));
        HttpRequest req = HttpRequest.newBuilder(kiln.uri("/api/v1/jobs/" + id + "/events"))
                .header("Authorization", "Bearer " + KilnServer.ADMIN).timeout(Duration.ofSeconds(120)).build();
        HttpResponse<java.util.stream.Stream<String>> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(req, HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, r.statusCode());
        List<String> lines = r.body().toList();
        assertTrue(lines.contains("event: job"), "starts with the job itself");
        assertTrue(lines.contains("event: epoch"), "epochs arrive as they happen");
        String last = lines.stream().filter(l -> l.startsWith("data:")).reduce((a, b) -> b).orElse("");
        assertTrue(last.contains("SUCCEEDED"), "ends with the final state: " + last);
    }
}
