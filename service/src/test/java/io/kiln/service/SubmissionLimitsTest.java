package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.engine.nn.MemoryEstimate;
import io.kiln.engine.spec.SpecParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Submissions checked against what the server knows, over real HTTP to a CPU-only server with 256 MiB workers
 * and 8x8 images of 4 classes: each refusal is a 400 naming the field with both figures, and queues nothing; and
 * requests built to hurt (deep or huge JSON, overlong strings) are 400s rather than 500s.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(180)
class SubmissionLimitsTest {
    Path home;
    @AutoClose
    KilnServer kiln;

    @BeforeAll
    void start() throws IOException {
        kiln = KilnServer.onTinyData("kiln-submission-limits", 600, 200, Map.of("kiln.cpu-slot", "off"));
        home = kiln.home();
    }

    static String withModel(String model) {
        return TestData.spec("refused", "tiny", 1).replaceFirst("\"model\":\\{.*?]},", "\"model\":" + model.replace("$", "\\$") + ",");
    }

    /** Submits, expects 400 naming {@code field}, each of {@code words} in the message, and nothing queued. */
    JsonNode refused(String spec, String field, String... words) {
        int before = kiln.get("/api/v1/jobs", KilnServer.ADMIN).json().path("jobs").size();
        KilnServer.Answer a = kiln.post("/api/v1/jobs", KilnServer.ADMIN, spec);
        assertEquals(400, a.status(), a.body());
        assertEquals(field, a.json().path("field").asText(), a.body());
        for (String w : words) {
            assertTrue(a.json().path("message").asText().contains(w), "\"" + w + "\" in " + a.json().path("message").asText());
        }
        assertEquals(before, kiln.get("/api/v1/jobs", KilnServer.ADMIN).json().path("jobs").size(), "nothing queued");
        return a.json();
    }

    @Test
    void anInputShapeThatIsNotTheDatasets() {
        refused(withModel("{\"input\":[1,28],\"layers\":[{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":4}]}"),
                "model.input", "is [1, 28]", "the samples of tiny are [1, 8, 8]");
    }

    @Test
    void aLastLayerThatIsNotTheClassCount() {
        refused(withModel("{\"layers\":[{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":7}]}"), "model",
                "7 outputs", "tiny has 4 classes");
    }

    @Test
    void aPresetOnImagesSmallerThanItTakes() {
        refused(withModel("{\"preset\":\"vgg11\"}"), "model.preset", "at least 32x32", "[1, 8, 8]");
    }

    @Test
    void aConvolutionWhoseOutputOverflowsAnInt() {
        refused(withModel("{\"layers\":[{\"type\":\"conv2d\",\"filters\":65536,\"kernel\":1,\"padding\":64},"
                + "{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":4}]}"), "model.layers[0]",
                "[65536, 136, 136]", "38,788,923,392 at training.batchSize 32", "2,147,483,647");
    }

    /** About 1 TB of activations: 121 layers, each 28 x 75.8 million floats (the estimate counts outputs once). */
    static final String TERABYTE;

    static {
        StringBuilder layers = new StringBuilder("{\"type\":\"conv2d\",\"filters\":4096,\"kernel\":1,\"padding\":64}");
        for (int i = 0; i < 120; i++) {
            layers.append(",{\"type\":\"relu\"}");
        }
        TERABYTE = TestData.spec("terabyte", "tiny", 1).replaceFirst("\"model\":\\{.*?]},",
                "\"model\":{\"layers\":[" + layers + ",{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":4}]},")
                .replace("\"batchSize\":32", "\"batchSize\":28");
    }

    @Test
    void aModelOfATerabyteOnTheCpuAgainstTheWorkerHeap() {
        MemoryEstimate e = MemoryEstimate.of(SpecParser.parse(TERABYTE), new int[] {1, 8, 8}, 4);
        assertTrue(e.activationBytes() > 900L << 30, e.describe());
        refused(TERABYTE, "training.batchSize", "of worker memory on the CPU", "the worker heap is 256.0 MiB (kiln.worker-heap = 256m)",
                "lower training.batchSize");
    }

    @Test
    void aModelOfATerabyteOnTheCpuAgainstTheMachinesRam(@TempDir Path other) throws IOException {
        TestData.write(other.resolve("data"), "tiny", 100, 40, 4);
        try (KilnServer big = new KilnServer(other, other.resolve("data"), null, Map.of("kiln.worker-heap", "64t"))) {
            KilnServer.Answer a = big.post("/api/v1/jobs", KilnServer.ADMIN, TERABYTE);
            assertEquals(400, a.status(), a.body());
            String m = a.json().path("message").asText();
            assertTrue(m.contains("but this machine has") && m.contains("GiB of RAM"), m);
        }
    }

    @Test
    void jsonNestedDeeperThanTheLimit() {
        String deep = "{\"name\":" + "[".repeat(10_000) + "]".repeat(10_000) + "}";
        refused(deep, "body", "more than 32 deep (kiln.max-json-depth)");
        KilnServer.Answer sweep = kiln.post("/api/v1/sweeps", KilnServer.ADMIN, deep);
        assertEquals(400, sweep.status(), sweep.body());
    }

    @Test
    void aBodyLargerThanTheLimitIsRefusedByItsLength() {
        String huge = "{\"name\":\"" + "x".repeat(2 << 20) + "\"}";
        KilnServer.Answer a = kiln.post("/api/v1/jobs", KilnServer.ADMIN, huge);
        assertEquals(400, a.status(), a.body());
        assertEquals("body", a.json().path("field").asText());
        assertTrue(a.json().path("message").asText().contains("larger than 1048576 (kiln.max-json-bytes)"), a.body());
    }

    /** Sent in chunks, with no length to refuse it by: the body is still bounded, and never a 500. */
    @Test
    void aChunkedBodyLargerThanTheLimitIsRefusedToo() throws Exception {
        byte[] huge = ("{\"name\":\"" + "x".repeat(12 << 20) + "\"}").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        long before = UploadLimitsTest.allocatedBytes();
        java.net.http.HttpRequest req = java.net.http.HttpRequest.newBuilder(kiln.uri("/api/v1/jobs"))
                .timeout(java.time.Duration.ofSeconds(60)).header("Authorization", "Bearer " + KilnServer.ADMIN)
                .header("Content-Type", "application/json")
                .POST(java.net.http.HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(huge)))
                .build();
        java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newBuilder()
                .version(java.net.http.HttpClient.Version.HTTP_1_1).build()
                .send(req, java.net.http.HttpResponse.BodyHandlers.ofString());
        long allocated = UploadLimitsTest.allocatedBytes() - before;
        // Past Micronaut's buffer (10 MiB) it is refused as it arrives; below, by kiln.max-json-bytes.
        assertEquals(413, r.statusCode(), r.body());
        assertTrue(r.body().contains("micronaut.server.max-request-buffer-size"), r.body());
        System.out.println("a chunked body of " + huge.length + " bytes: " + r.statusCode() + " " + r.body() + ", "
                + (allocated >> 20) + " MB allocated by all threads");
        assertEquals(200, kiln.get("/health", null).status(), "the service is well");
    }

    @Test
    void overlongStringsAre400sNamingTheField() {
        refused(TestData.spec("n".repeat(300), "tiny", 1), "name", "1 to 200 characters");
        String base = TestData.spec("s", "tiny", 1);
        KilnServer.Answer name = kiln.post("/api/v1/sweeps", KilnServer.ADMIN,
                "{\"name\":\"" + "s".repeat(300) + "\",\"base\":" + base + ",\"grid\":{\"optimizer.lr\":[0.1]}}");
        assertEquals(400, name.status(), name.body());
        assertEquals("name", name.json().path("field").asText());
        KilnServer.Answer index = kiln.post("/api/v1/sweeps", KilnServer.ADMIN,
                "{\"base\":" + base + ",\"grid\":{\"model.layers[99999999999].units\":[8]}}");
        assertEquals(400, index.status(), index.body());
        assertEquals("grid.model.layers[99999999999].units", index.json().path("field").asText());
        KilnServer.Answer path = kiln.post("/api/v1/sweeps", KilnServer.ADMIN,
                "{\"base\":" + base + ",\"grid\":{\"optimizer." + "x".repeat(300) + "\":[8]}}");
        assertEquals(400, path.status(), path.body());
        assertEquals("grid", path.json().path("field").asText());

        assertEquals(201, kiln.post("/api/v1/users", KilnServer.ADMIN, "{\"name\":\"ann\",\"role\":\"user\"}").status());
        KilnServer.Answer label = kiln.post("/api/v1/users/ann/tokens", KilnServer.ADMIN,
                "{\"label\":\"" + "l".repeat(200) + "\"}");
        assertEquals(400, label.status(), label.body());
        assertEquals("label", label.json().path("field").asText());
        assertTrue(label.json().path("message").asText().contains("at most 100 characters, got 200"), label.body());
        KilnServer.Answer user = kiln.get("/api/v1/jobs?user=" + "u".repeat(100), KilnServer.ADMIN);
        assertEquals(400, user.status(), user.body());
        assertEquals("user", user.json().path("field").asText());
    }

    /** Image folders of two classes whose images differ in size, as photographs do. */
    static void photos(Path root) throws IOException {
        int i = 0;
        for (String part : new String[] {"train", "test"}) {
            for (String c : new String[] {"ants", "bees"}) {
                Path dir = Files.createDirectories(root.resolve("photos").resolve(part).resolve(c));
                for (int[] size : new int[][] {{40, 30}, {50, 60}, {45, 45}}) {
                    java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(size[0], size[1],
                            java.awt.image.BufferedImage.TYPE_INT_RGB);
                    img.setRGB(size[0] / 2, size[1] / 2, c.equals("ants") ? 0xff0000 : 0x00ff00);
                    javax.imageio.ImageIO.write(img, "png", dir.resolve((i++) + ".png").toFile());
                }
            }
        }
    }

    @Test
    void aTransformedDatasetIsCheckedAtTheShapeItsJobSees() throws IOException {
        photos(home.resolve("data"));
        String spec = """
                {"name":"photos","data":{"name":"photos","transform":{"resize":36,"centerCrop":32}},
                 "model":{"preset":"vgg11"},"optimizer":{"type":"sgd","lr":0.01},"training":{"epochs":1,"batchSize":2},
                 "device":"cpu"}""";
        KilnServer.Answer fits = kiln.post("/api/v1/jobs", KilnServer.ADMIN, spec);
        assertEquals(201, fits.status(), "32x32 crops fit vgg11: " + fits.body());
        refused(spec.replace("\"preset\":\"vgg11\"", "\"input\":[3,28,28],\"preset\":\"vgg11\""), "model.input",
                "is [3, 28, 28]", "are [3, 32, 32]");
        refused(spec.replace("\"centerCrop\":32", "\"centerCrop\":24"), "model.preset", "at least 32x32", "[3, 24, 24]");
    }

    @Test
    void aJobThatFitsIsStillAccepted() {
        KilnServer.Answer a = kiln.post("/api/v1/jobs", KilnServer.ADMIN, TestData.spec("fits", "tiny", 1));
        assertEquals(201, a.status(), a.body());
    }
}
