package io.kiln.service.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.engine.data.InsectImages;
import io.kiln.engine.nn.MemoryEstimate;
import io.kiln.engine.spec.SpecParser;
import io.kiln.service.KilnServer;
import io.kiln.service.TestData;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The refusal of a job too large for the GPU: its decision and message with the figures of a real estimate, and
 * the check at submission over real HTTP on a server given a fake 1 GiB GPU (the machine needs none), where CPU
 * jobs still run beside the GPU.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(180)
class MemoryCheckTest {
    static final long GPU_BYTES = 1L << 30;
    @AutoClose
    KilnServer kiln;

    @BeforeAll
    void start() throws IOException {
        Map<String, Object> p = new HashMap<>(KilnServer.fakeGpus("Fake GPU 1GiB:" + GPU_BYTES));
        p.put("kiln.cpu-slot", "on");
        kiln = KilnServer.onTinyData("kiln-memory-check", 600, 200, p);
        InsectImages.write(kiln.dataRoot(), "insects", 3, 1, 5);
    }

    @Test
    void refusesWithBothFiguresWhenTheEstimateExceedsTheGpu() {
        MemoryEstimate vgg = MemoryEstimate.of(SpecParser.parse("{\"data\":{\"name\":\"c\"},\"model\":{\"preset\":\"vgg11\"},"
                + "\"optimizer\":{\"lr\":0.1,\"momentum\":0.9},\"training\":{\"batchSize\":4096}}"), new int[] {3, 32, 32}, 10);
        String message = MemoryCheck.refusal(vgg, "NVIDIA GeForce GTX 1050 Ti", 4L << 30).orElseThrow();
        assertTrue(message.contains("GTX 1050 Ti") && message.contains("4.0 GiB") && message.contains(MemoryEstimate.gib(vgg.totalBytes()))
                && message.contains("lower training.batchSize"), message);
        assertTrue(MemoryCheck.refusal(vgg, "NVIDIA H100 80GB HBM3", 80L << 30).isEmpty(), "fits an H100: " + vgg.describe());
    }

    @Test
    void aJobThatCannotFitTheGpuIsRefusedAtSubmissionWithBothFigures() {
        String spec = TestData.spec("too-big", "tiny", 1).replace("\"units\":16", "\"units\":16384")
                .replace("\"batchSize\":32", "\"batchSize\":4096").replace("\"device\":\"cpu\"", "\"device\":\"cuda\"");
        MemoryEstimate estimate = MemoryEstimate.of(SpecParser.parse(spec), new int[] {1, 8, 8}, 4);
        assertTrue(estimate.totalBytes() > GPU_BYTES, "the job is meant not to fit: " + estimate.describe());

        KilnServer.Answer a = kiln.post("/api/v1/jobs", KilnServer.ADMIN, spec);
        assertEquals(400, a.status(), a.body());
        assertEquals("training.batchSize", a.json().path("field").asText(), a.body());
        String message = a.json().path("message").asText();
        assertTrue(message.contains(estimate.describe()) && message.contains("(Fake GPU 1GiB) has 1.0 GiB"), message);
        assertEquals(0, kiln.get("/api/v1/jobs", KilnServer.ADMIN).json().path("jobs").findValues("name").stream()
                .filter(n -> n.asText().equals("too-big")).count(), "nothing was queued");
    }

    @Test
    void theEstimateIsForTheImagesTheTransformMakes() {
        // photos of 50 to 100 pixels, resized and cropped to 224 x 224 as ImageNet models are fed
        String spec = """
                {"name":"imagenet-sized","data":{"name":"insects","normalize":"imagenet",
                  "transform":{"randomResizedCrop":224,"resize":256,"centerCrop":224}},
                 "model":{"preset":"resnet18"},"optimizer":{"type":"sgd","lr":0.01,"momentum":0.9},
                 "training":{"epochs":1,"batchSize":64},"device":"cuda"}""";
        MemoryEstimate estimate = MemoryEstimate.of(SpecParser.parse(spec), new int[] {3, 224, 224}, 2);
        assertTrue(estimate.totalBytes() > GPU_BYTES, "the job is meant not to fit: " + estimate.describe());
        KilnServer.Answer a = kiln.post("/api/v1/jobs", KilnServer.ADMIN, spec);
        assertEquals(400, a.status(), a.body());
        assertEquals("training.batchSize", a.json().path("field").asText(), a.body());
        assertTrue(a.json().path("message").asText().contains(estimate.describe()), a.body());

        String small = spec.replace("224", "32").replace("256", "36").replace("\"batchSize\":64", "\"batchSize\":2");
        MemoryEstimate fits = MemoryEstimate.of(SpecParser.parse(small), new int[] {3, 32, 32}, 2);
        assertTrue(fits.totalBytes() < GPU_BYTES, fits.describe());
        KilnServer.Answer queued = kiln.post("/api/v1/jobs", KilnServer.ADMIN, small);
        assertEquals(201, queued.status(), queued.body());
        kiln.post("/api/v1/jobs/" + queued.json().path("id").asText() + "/cancel", KilnServer.ADMIN, null);
    }

    /** On the CPU the tensors live in the worker's heap: a job whose estimate exceeds kiln.worker-heap is refused. */
    @Test
    void aCpuJobLargerThanTheWorkerHeapIsRefusedAtSubmissionNamingTheHeap() {
        String spec = TestData.tooLargeForHere("over-the-heap");
        KilnServer.Answer a = kiln.post("/api/v1/jobs", KilnServer.ADMIN, spec);
        assertEquals(400, a.status(), a.body());
        assertEquals("training.batchSize", a.json().path("field").asText(), a.body());
        String message = a.json().path("message").asText();
        assertTrue(message.contains("of worker memory on the CPU") && message.contains("(kiln.worker-heap = 256m)")
                && message.contains("raise kiln.worker-heap"), message);
    }

    @Test
    void cpuJobsStillRunWhenTheServerHasGpus() {
        JsonNode devices = kiln.get("/api/v1/devices", KilnServer.ADMIN).json();
        assertEquals("cuda:0", devices.get(0).path("name").asText(), devices.toString());
        assertEquals("Fake GPU 1GiB", devices.get(0).path("model").asText());
        assertTrue(devices.get(1).path("slot").asBoolean(), "the CPU slot is on: " + devices);

        String id = kiln.submit(TestData.spec("on-the-cpu", "tiny", 2));
        JsonNode job = kiln.awaitState(id, "SUCCEEDED", Duration.ofSeconds(120));
        assertEquals("cpu", job.path("device").asText());
        assertEquals(2, job.path("progress").path("epoch").asInt());
    }
}
