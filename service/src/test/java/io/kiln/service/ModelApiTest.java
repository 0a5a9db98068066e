package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.data.Dataset;
import io.kiln.engine.data.InsectImages;
import io.kiln.engine.nn.Model;
import io.kiln.engine.nn.ModuleNames;
import io.kiln.engine.spec.SpecParser;
import io.kiln.engine.train.Inference;
import io.kiln.engine.weights.WeightFiles;
import io.kiln.engine.weights.WeightTensor;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Pretrained models over real HTTP: uploads read by the restricted reader and bounded in size, {@code init.model}
 * resolved and checked at submission, the tutorial's freeze mode trained from a real PyTorch state dict (every
 * tensor but the new head bit for bit the file's), and the job's ONNX export run in ONNX Runtime to the scores that
 * the service's predictions give. Who sees a model is in {@link AccessRules}, on H2 and PostgreSQL.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class ModelApiTest {
    static final Duration TIMEOUT = Duration.ofSeconds(180);
    static final long LIMIT = 1L << 20;
    final Path resnet = TestData.pytorchFixture("resnet18_w4.pt");
    Path home;
    @AutoClose
    KilnServer kiln;
    String alice;
    String bob;

    @BeforeAll
    void start() throws IOException {
        home = Files.createTempDirectory("kiln-models");
        InsectImages.write(home.resolve("data"), "insects", 6, 3, 7);
        kiln = new KilnServer(home, home.resolve("data"), null, Map.of("kiln.model-limit-bytes", LIMIT));
        alice = kiln.user("alice", "user");
        bob = kiln.user("bob", "user");
        assertEquals(201, upload(alice, "r18", resnet, Files.readAllBytes(resnet)).status());
    }

    @Test
    void anUploadSaysWhatTheFileHolds() throws Exception {
        byte[] st = Files.readAllBytes(TestData.pytorchFixture("resnet18_w4.safetensors"));
        KilnServer.Answer a = upload(alice, "r18-st", Path.of("resnet18_w4.safetensors"), st);
        assertEquals(201, a.status(), a.body());
        JsonNode m = a.json();
        assertEquals("safetensors", m.path("format").asText());
        assertEquals("alice", m.path("user").asText());
        assertEquals(st.length, m.path("bytes").asLong());
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(st)), m.path("sha256").asText());
        assertFalse(m.path("shared").asBoolean());

        JsonNode pt = kiln.get("/api/v1/models/r18", alice).json();
        assertEquals("pytorch", pt.path("format").asText(), pt.toString());
        Map<String, WeightTensor> file = WeightFiles.read(resnet);
        assertEquals(file.size(), pt.path("tensors").asInt(), "102 tensors and 20 num_batches_tracked");
        assertEquals(file.values().stream().mapToLong(t -> t.values().length).sum(), pt.path("parameters").asLong());
        assertEquals("resnet18_w4.pt", pt.path("fileName").asText());
        assertTrue(pt.path("permissions").path("share").asBoolean());
    }

    @Test
    void uploadsThatAreNotStateDictsAreRefusedNamingTheFieldAndNothingIsKept() throws IOException {
        Path pwned = home.resolve("pwned");
        // what pickle.dumps gives for an object whose __reduce__ returns (os.system, ("touch pwned",))
        ByteArrayOutputStream pickle = new ByteArrayOutputStream();
        pickle.writeBytes(new byte[] {(byte) 0x80, 2, 'c'});
        pickle.writeBytes("os\nsystem\n".getBytes(StandardCharsets.US_ASCII));
        byte[] cmd = ("touch " + pwned).getBytes(StandardCharsets.UTF_8);
        pickle.write('X');
        pickle.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(cmd.length).array());
        pickle.writeBytes(cmd);
        pickle.writeBytes(new byte[] {(byte) 0x85, 'R', '.'});
        KilnServer.Answer evil = upload(alice, "evil", Path.of("evil.pt"), zip("archive/data.pkl", pickle.toByteArray()));
        refused(evil, 400, "file", "evil.pt", "os.system");
        assertFalse(evil.body().contains(".upload-"), "the message names the user's file, not the server's: " + evil.body());
        assertFalse(Files.exists(pwned));

        refused(upload(alice, "notes", Path.of("notes.txt"), new byte[] {1, 2}), 400, "file", ".safetensors");
        refused(upload(alice, "../up", resnet, Files.readAllBytes(resnet)), 400, "name", "letters, digits");
        refused(upload(alice, "r18", resnet, Files.readAllBytes(resnet)), 409, "name", "exists already");
        refused(upload(alice, "big", Path.of("big.pt"), new byte[(int) LIMIT + 1]), 413, "file",
                "kiln.model-limit-bytes (" + LIMIT + " bytes)");
        refused(upload(alice, "broken", Path.of("broken.safetensors"), new byte[] {9, 0, 0, 0, 0, 0, 0, 0, '{'}), 400,
                "file", "broken.safetensors");

        for (String gone : List.of("evil", "notes", "big", "broken")) {
            refused(kiln.get("/api/v1/models/" + gone, alice), 404, "no model " + gone);
        }
        try (Stream<Path> files = Files.list(home.resolve("models"))) {
            List<String> left = files.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".weights")).toList();
            assertEquals(List.of(), left, "no temporary file is left behind");
        }
    }

    @Test
    void initModelIsResolvedAtSubmissionAndRefusedNamingTheField() throws IOException {
        refused(kiln.post("/api/v1/jobs", alice, spec("none", "nope", false)), 400, "init.model", "no model nope");
        assertEquals("init.model", kiln.post("/api/v1/jobs", alice, spec("none", "nope", false)).json()
                .path("field").asText());

        assertEquals(201, upload(alice, "r18-private", resnet, Files.readAllBytes(resnet)).status());
        KilnServer.Answer forbidden = kiln.post("/api/v1/jobs", bob, spec("bob-uses-alices", "r18-private", false));
        refused(forbidden, 403, "belongs to alice", "not shared");
        assertEquals("init.model", forbidden.json().path("field").asText());

        Path mlp = TestData.pytorchFixture("mlp_bn.pt");
        assertEquals(201, upload(alice, "mlp-bn", mlp, Files.readAllBytes(mlp)).status());
        KilnServer.Answer misfit = kiln.post("/api/v1/jobs", alice, spec("misfit", "mlp-bn", false));
        refused(misfit, 400, "model mlp-bn", "missing from the file (102)", "unexpected in the file");
        assertEquals("init.model", misfit.json().path("field").asText());

        KilnServer.Answer badFreeze = kiln.post("/api/v1/jobs", alice, spec("bad-freeze", "r18", false)
                .replace("\"model\":\"r18\"", "\"model\":\"r18\",\"freeze\":[\"layer9\"]"));
        assertEquals(400, badFreeze.status(), badFreeze.body());
        assertTrue(badFreeze.json().path("field").asText().startsWith("init.freeze"), badFreeze.body());

        JsonNode queue = kiln.get("/api/v1/jobs", KilnServer.ADMIN).json();
        for (String name : List.of("none", "bob-uses-alices", "misfit", "bad-freeze")) {
            assertTrue(queue.path("jobs").findValues("name").stream().noneMatch(n -> n.asText().equals(name)),
                    name + " was not queued");
        }
    }

    @Test
    void freezingTrainsOnlyTheNewHeadAndTheOnnxRunsToThePredictionsScores() throws Exception {
        String id = kiln.submit(spec("freeze", "r18", true), alice);
        JsonNode job = kiln.awaitState(id, "SUCCEEDED", TIMEOUT);
        assertEquals(1, job.path("progress").path("epoch").asInt());
        assertTrue(kiln.get("/api/v1/jobs/" + id + "/log", alice).body()
                .contains("starting from the pretrained weights of model r18 with a new last layer"));

        Checkpoint trained = Checkpoint.read(new ByteArrayInputStream(kiln.download("/api/v1/jobs/" + id
                + "/checkpoint", alice)), "job " + id);
        Map<String, WeightTensor> file = WeightFiles.read(resnet);
        int same = 0;
        int head = 0;
        try (CpuBackend cpu = new CpuBackend(1);
             Model model = Model.build(cpu, SpecParser.parse(trained.spec()), new int[] {3, 48, 48}, 2)) {
            ModuleNames names = ModuleNames.of(model);
            for (Checkpoint.Entry e : trained.tensors().values()) {
                if (e.kind() == Checkpoint.Kind.OPTIMIZER) {
                    continue;
                }
                WeightTensor w = file.get(names.torchTensor(e.name()));
                if (Arrays.equals(w.shape(), e.shape())) {
                    assertTrue(Arrays.equals(w.values(), e.data()), e.name() + " is frozen: bit for bit the file's");
                    same++;
                } else {
                    assertEquals(2, e.shape()[0], e.name() + ": the new head has the data's two classes");
                    head++;
                }
            }
        }
        assertEquals(100, same, "every parameter and running statistic but fc's");
        assertEquals(2, head, "fc.weight and fc.bias");

        refused(kiln.get("/api/v1/jobs/" + id + "/onnx", bob), 403, "its model as ONNX", "belongs to alice");
        byte[] onnx = kiln.download("/api/v1/jobs/" + id + "/onnx", alice);
        List<Path> images = testImages();
        List<byte[]> bytes = new ArrayList<>();
        for (Path p : images) {
            bytes.add(Files.readAllBytes(p));
        }
        JsonNode predictions = predict(id, images).path("predictions");
        assertEquals(images.size(), predictions.size(), predictions.toString());

        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (CpuBackend cpu = new CpuBackend(1); Inference inference = new Inference(cpu, trained);
             OrtSession session = env.createSession(onnx, new OrtSession.SessionOptions())) {
            Map<String, String> meta = session.getMetadata().getCustomMetadata();
            assertEquals("[\"ants\",\"bees\"]", meta.get("classNames"));
            assertTrue(meta.get("transform").contains("\"centerCrop\":48"), meta.get("transform"));
            // the evaluation images as the job's spec prepares them: resized to 55, centre-cropped to 48
            Dataset set = inference.samples(bytes, images.stream().map(p -> p.getFileName().toString()).toList())
                    .withNormalization(inference.normalization());
            int n = images.size();
            float[] x = new float[n * set.sampleSize()];
            for (int i = 0; i < n; i++) {
                set.copySample(i, x, i * set.sampleSize());
            }
            try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), new long[] {n, 3, 48, 48});
                 OrtSession.Result res = session.run(Map.of("input", in))) {
                float[][] p = (float[][]) res.get("probabilities").orElseThrow().getValue();
                for (int i = 0; i < n; i++) {
                    JsonNode scores = predictions.get(i).path("scores");
                    assertEquals(p[i][0], scores.path("ants").asDouble(), 1e-4, images.get(i) + ": ants");
                    assertEquals(p[i][1], scores.path("bees").asDouble(), 1e-4, images.get(i) + ": bees");
                }
            }
        }
    }

    @Test
    void aSharedModelIsEveryonesToFineTuneFromAndFineTuningChangesEveryLayer() throws IOException {
        assertEquals(201, upload(alice, "r18-lab", resnet, Files.readAllBytes(resnet)).status());
        refused(kiln.post("/api/v1/jobs", bob, spec("bob-fine-tunes", "r18-lab", false)), 403, "not shared");
        assertTrue(kiln.patch("/api/v1/models/r18-lab", alice, "{\"shared\": true}").json().path("shared").asBoolean());
        String id = kiln.submit(spec("bob-fine-tunes", "r18-lab", false), bob);
        kiln.awaitState(id, "SUCCEEDED", TIMEOUT);
        Checkpoint trained = Checkpoint.read(new ByteArrayInputStream(kiln.download("/api/v1/jobs/" + id
                + "/checkpoint", bob)), "job " + id);
        Map<String, WeightTensor> file = WeightFiles.read(resnet);
        // layers.0 is conv1: fine-tuning without freezing moves the first layer too
        assertFalse(Arrays.equals(file.get("conv1.weight").values(), trained.tensor("layers.0.weight").data()));
    }

    private String spec(String name, String model, boolean freeze) {
        return """
                {"name":"%s","data":{"name":"insects","normalize":"imagenet",
                  "transform":{"randomResizedCrop":48,"flip":true,"resize":55,"centerCrop":48}},
                 "model":{"preset":"resnet18","width":4},"optimizer":{"type":"sgd","lr":0.01,"momentum":0.9},
                 "training":{"epochs":1,"batchSize":4,"seed":1},"device":"cpu",
                 "init":{"model":"%s"%s}}""".formatted(name, model, freeze ? ",\"freeze\":\"all-but-last\"" : "");
    }

    private KilnServer.Answer upload(String token, String name, Path fileName, byte[] content) {
        return ApiTestSupport.multipart(kiln, token, "/api/v1/models", Map.of("name", name), "file",
                fileName.getFileName().toString(), content);
    }

    private List<Path> testImages() throws IOException {
        try (Stream<Path> s = Files.walk(home.resolve("data/insects/test"))) {
            return s.filter(Files::isRegularFile).sorted().toList();
        }
    }

    /** POST /jobs/{id}/predict with every image as a part named images. */
    private JsonNode predict(String id, List<Path> images) throws IOException {
        String boundary = "kiln" + UUID.randomUUID();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (Path p : images) {
            body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"images\"; filename=\""
                    + p.getFileName() + "\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            body.writeBytes(Files.readAllBytes(p));
            body.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        body.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        KilnServer.Answer a = kiln.send(HttpRequest.newBuilder(kiln.uri("/api/v1/jobs/" + id + "/predict"))
                .header("Authorization", "Bearer " + alice)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())));
        assertEquals(200, a.status(), a.body());
        return a.json();
    }

    private static byte[] zip(String entry, byte[] content) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            zip.putNextEntry(new ZipEntry(entry));
            zip.write(content);
            zip.closeEntry();
        }
        return out.toByteArray();
    }

    private static void refused(KilnServer.Answer a, int status, String... words) {
        AccessRules.refused(a, status, words);
    }
}
