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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Sweeps, predictions, dataset uploads, live events and per-user limits, over real HTTP. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExperimentsApiTest {
    static final Duration TIMEOUT = Duration.ofSeconds(180);
    Path home;
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

    @AfterAll
    void stop() {
        kiln.close();
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
        JsonNode done = await(() -> kiln.get("/api/v1/sweeps/" + id, KilnServer.ADMIN).json(),
                s -> !s.get("state").asText().matches("QUEUED|RUNNING"));
        assertEquals("SUCCEEDED", done.get("state").asText(), done.toString());
        double bestAcc = 0;
        for (JsonNode p : done.get("points")) {
            assertTrue(p.get("bestEpoch").asInt() >= 1 && p.get("bestEpoch").asInt() <= 2, "each point has its best epoch");
            assertTrue(p.get("testAcc").asDouble() > 0.7, p.toString());
            assertTrue(p.get("seconds").asDouble() > 0);
            bestAcc = Math.max(bestAcc, p.get("bestValAcc").asDouble());
        }
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
        HttpResponse<String> r = multipart("/api/v1/jobs/" + id + "/predict", Map.of(), "images", "row6.png", png.toByteArray());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode p = KilnServer.JSON.readTree(r.body()).get("predictions").get(0);
        assertEquals("row6.png", p.get("image").asText());
        assertEquals(3, p.get("predicted").asInt(), p.toString());
    }

    @Test
    void uploadsADatasetArchiveAndRefusesPathEscapes() throws Exception {
        Path tmp = Files.createTempDirectory("upload");
        TestData.write(tmp, "zipped", 100, 40, 4);
        byte[] zip = zip(tmp.resolve("zipped"), "zipped/");
        HttpResponse<String> r = multipart("/api/v1/datasets", Map.of("name", "uploaded"), "file", "zipped.zip", zip);
        assertEquals(201, r.statusCode(), r.body());
        JsonNode d = KilnServer.JSON.readTree(r.body());
        assertEquals("idx", d.get("format").asText());
        assertEquals(100, d.get("train").asInt());
        JsonNode list = kiln.get("/api/v1/datasets", KilnServer.ADMIN).json();
        assertTrue(list.toString().contains("\"uploaded\""), list.toString());

        ByteArrayOutputStream evil = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(evil)) {
            z.putNextEntry(new ZipEntry("../../escape.txt"));
            z.write("x".getBytes(StandardCharsets.UTF_8));
        }
        HttpResponse<String> bad = multipart("/api/v1/datasets", Map.of("name", "evil"), "file", "evil.zip", evil.toByteArray());
        assertEquals(400, bad.statusCode(), bad.body());
        assertTrue(bad.body().contains("outside the dataset folder"), bad.body());
        assertTrue(!Files.exists(home.resolve("escape.txt")) && !Files.exists(home.resolve("data").resolve("evil")));

        HttpResponse<String> junk = multipart("/api/v1/datasets", Map.of("name", "junk"), "file", "junk.zip", zip(tmp, "none/"));
        assertEquals(400, junk.statusCode());
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

    @Test
    void perUserQueueLimit(@TempDir Path other) throws IOException {
        TestData.write(other.resolve("data"), "tiny", 100, 40, 4);
        try (KilnServer limited = new KilnServer(other, other.resolve("data"), null,
                Map.of("kiln.max-queued-per-user", "2", "kiln.cpu-slot", "false"))) {
            limited.submit(TestData.spec("a", "tiny", 1));
            limited.submit(TestData.spec("b", "tiny", 1));
            KilnServer.Answer third = limited.post("/api/v1/jobs", KilnServer.ADMIN, TestData.spec("c", "tiny", 1));
            assertEquals(429, third.status(), third.body());
            assertTrue(third.json().get("message").asText().contains("limit is 2"), third.body());
        }
    }

    private HttpResponse<String> multipart(String path, Map<String, String> fields, String fileField, String fileName,
                                           byte[] content) throws IOException, InterruptedException {
        String boundary = "kiln" + UUID.randomUUID();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (Map.Entry<String, String> f : fields.entrySet()) {
            body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + f.getKey() + "\"\r\n\r\n"
                    + f.getValue() + "\r\n").getBytes(StandardCharsets.UTF_8));
        }
        body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + fileField + "\"; filename=\""
                + fileName + "\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.write(content);
        body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        HttpRequest req = HttpRequest.newBuilder(kiln.uri(path)).header("Authorization", "Bearer " + KilnServer.ADMIN)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build();
        return HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build().send(req, HttpResponse.BodyHandlers.ofString());
    }

    private static byte[] zip(Path dir, String prefix) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(out); var files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                z.putNextEntry(new ZipEntry(prefix + f.getFileName()));
                z.write(Files.readAllBytes(f));
            }
        }
        return out.toByteArray();
    }

    private static JsonNode await(java.util.function.Supplier<JsonNode> get, java.util.function.Predicate<JsonNode> done) {
        long end = System.nanoTime() + TIMEOUT.toNanos();
        JsonNode last = null;
        while (System.nanoTime() < end) {
            last = get.get();
            if (done.test(last)) {
                return last;
            }
            try {
                Thread.sleep(500);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        throw new AssertionError("not done in " + TIMEOUT + ": " + last);
    }
}
