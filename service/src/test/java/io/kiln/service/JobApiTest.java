package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.service.scheduler.Scheduler;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.test.extensions.junit5.annotation.MicronautTest;
import io.micronaut.test.support.TestPropertyProvider;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The jobs API over real HTTP, running real engine workers on the CPU on a small generated dataset. Every test
 * waits for the jobs it starts to end, so none holds the one CPU slot while the next test runs.
 */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class JobApiTest implements TestPropertyProvider {
    static final Duration TIMEOUT = Duration.ofSeconds(90);
    Path home;

    @Inject
    EmbeddedServer embedded;

    KilnServer kiln;

    @Override
    public Map<String, String> getProperties() {
        try {
            home = Files.createTempDirectory("kiln-api-test");
            TestData.write(home.resolve("data"), "tiny", 600, 200, 4);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Map<String, String> p = new HashMap<>();
        KilnServer.properties(home, home.resolve("data"), null).forEach((k, v) -> p.put(k, v.toString()));
        return p;
    }

    @BeforeAll
    void client() {
        kiln = new KilnServer(embedded);
    }

    @Test
    void aJobRunsFromQueuedToSucceededWithMetrics() {
        String id = kiln.submit(TestData.spec("happy", "tiny", 3));
        JsonNode job = kiln.awaitState(id, "SUCCEEDED", TIMEOUT);
        assertEquals(3, job.path("progress").path("epoch").asInt());
        assertEquals(15, job.path("progress").path("steps").asInt(), "480 training samples in batches of 32");
        assertEquals("cpu", job.path("device").asText());
        JsonNode done = ApiTestSupport.engineEvents(home, id, "done").get(0);
        assertEquals(done.get("test_acc").asDouble(), job.path("metrics").path("test_acc").asDouble(), "the worker's figure");
        assertTrue(job.path("metrics").path("test_acc").asDouble() > 0.9, job.toString());

        String log = kiln.get("/api/v1/jobs/" + id + "/log", KilnServer.ADMIN).body();
        assertTrue(log.contains("epoch 3:") && log.contains("kiln: succeeded"), log);

        // The stored series are the worker's own figures (its events file), every point once, in order.
        JsonNode metrics = kiln.get("/api/v1/jobs/" + id + "/metrics", KilnServer.ADMIN).json();
        List<JsonNode> epochEvents = ApiTestSupport.engineEvents(home, id, "epoch");
        assertEquals(3, epochEvents.size());
        assertEquals(3, metrics.get("epochs").size());
        for (int e = 0; e < 3; e++) {
            JsonNode stored = metrics.get("epochs").get(e);
            assertEquals(e + 1, stored.get("epoch").asInt());
            for (String f : List.of("train_loss", "train_acc", "val_loss", "val_acc", "samples_per_s", "seconds")) {
                assertEquals(epochEvents.get(e).get(f).asDouble(), stored.get(f).asDouble(), "epoch " + (e + 1) + " " + f);
            }
        }
        assertTrue(metrics.get("epochs").get(2).get("val_acc").asDouble() > 0.9, metrics.get("epochs").toString());
        List<JsonNode> stepEvents = ApiTestSupport.engineEvents(home, id, "step");
        JsonNode steps = metrics.get("steps");
        assertEquals(3 * 15, stepEvents.size());
        assertEquals(stepEvents.size(), steps.size());
        for (int i = 0; i < steps.size(); i++) {
            JsonNode s = steps.get(i);
            assertEquals(i + 1, s.get("globalStep").asLong(), "step points in order, none missing or repeated");
            assertEquals(stepEvents.get(i).get("epoch").asInt(), s.get("epoch").asInt());
            assertEquals(stepEvents.get(i).get("step").asInt(), s.get("step").asInt());
            assertEquals(stepEvents.get(i).get("loss").asDouble(), s.get("loss").asDouble(), "loss of step " + (i + 1));
        }

        assertDownsampledToMeans(steps, metricSteps(id, 4), 4);
        assertDownsampledToMeans(steps, metricSteps(id, 7), 7);
        assertEquals(steps, metricSteps(id, 1000), "fewer points than asked for: the series as it is");

        KilnServer.Answer ckpt = kiln.get("/api/v1/jobs/" + id + "/checkpoint", KilnServer.ADMIN);
        assertEquals(200, ckpt.status());
        assertTrue(ckpt.body().startsWith("KILNCKPT"), "the engine's checkpoint format");

        KilnServer.Answer report = kiln.get("/api/v1/jobs/" + id + "/report?images=10", KilnServer.ADMIN);
        assertEquals(200, report.status());
        assertTrue(report.body().contains("Confusion matrix") && report.body().contains("data:image/png;base64,"));

        JsonNode list = kiln.get("/api/v1/jobs?state=SUCCEEDED", KilnServer.ADMIN).json();
        assertTrue(ApiTestSupport.ids(list).contains(id), list.toString());
        list.get("jobs").forEach(j -> assertEquals("SUCCEEDED", j.get("state").asText()));

        KilnServer.Answer late = kiln.post("/api/v1/jobs/" + id + "/cancel", KilnServer.ADMIN, null);
        assertEquals(409, late.status(), late.body());
        assertEquals("job " + id + " has already ended (SUCCEEDED)", late.json().get("message").asText());
        assertEquals("SUCCEEDED", kiln.get("/api/v1/jobs/" + id, KilnServer.ADMIN).json().get("state").asText());
    }

    private JsonNode metricSteps(String id, int maxPoints) {
        return kiln.get("/api/v1/jobs/" + id + "/metrics?maxPoints=" + maxPoints, KilnServer.ADMIN).json().get("steps");
    }

    /**
     * Downsampled points are means of consecutive runs of the series: each point sits at a real step (its run's
     * last) and its loss is the mean of the losses since the previous point; runs differ in length by one at most.
     */
    static void assertDownsampledToMeans(JsonNode series, JsonNode few, int maxPoints) {
        assertEquals(maxPoints, few.size(), "downsampled to maxPoints");
        Map<Long, JsonNode> byStep = new HashMap<>();
        series.forEach(s -> byStep.put(s.get("globalStep").asLong(), s));
        long previous = 0;
        int shortest = Integer.MAX_VALUE;
        int longest = 0;
        for (JsonNode p : few) {
            long at = p.get("globalStep").asLong();
            JsonNode real = byStep.get(at);
            assertTrue(real != null && at > previous, "point " + p + " is at a step of the series, after the one before");
            assertEquals(real.get("epoch").asInt(), p.get("epoch").asInt(), p.toString());
            assertEquals(real.get("step").asInt(), p.get("step").asInt(), p.toString());
            double sum = 0;
            int n = 0;
            for (long g = previous + 1; g <= at; g++) {
                sum += byStep.get(g).get("loss").asDouble();
                n++;
            }
            assertEquals(sum / n, p.get("loss").asDouble(), 1e-12, "the mean of steps " + (previous + 1) + " to " + at);
            shortest = Math.min(shortest, n);
            longest = Math.max(longest, n);
            previous = at;
        }
        assertEquals(series.size(), previous, "the last point closes the series");
        assertTrue(longest - shortest <= 1, "even runs: " + shortest + " to " + longest + " steps");
    }

    @Test
    void aJobFineTunedFromAnotherStartsFromItsWeights() {
        String source = kiln.submit(TestData.spec("source", "tiny", 3));
        JsonNode trained = kiln.awaitState(source, "SUCCEEDED", TIMEOUT);
        // Hardly any learning (lr 1e-6): what the fine-tuned job knows, it has from the source's weights.
        String spec = TestData.spec("tuned", "tiny", 1).replace("\"lr\":0.05", "\"lr\":0.000001")
                .replace("\"device\":\"cpu\"", "\"device\":\"cpu\",\"init\":{\"fromJob\":\"" + source + "\"}");
        String tuned = kiln.submit(spec);
        JsonNode job = kiln.awaitState(tuned, "SUCCEEDED", TIMEOUT);
        assertTrue(kiln.get("/api/v1/jobs/" + tuned + "/log", KilnServer.ADMIN).body()
                .contains("starting from the weights of job " + source));
        double sourceAcc = trained.path("metrics").path("test_acc").asDouble();
        double tunedAcc = job.path("metrics").path("test_acc").asDouble();
        assertTrue(sourceAcc > 0.9 && Math.abs(tunedAcc - sourceAcc) <= 0.02, "source " + sourceAcc + ", tuned " + tunedAcc);
        double sourceFirstLoss = ApiTestSupport.engineEvents(home, source, "step").get(0).get("loss").asDouble();
        double sourceLastLoss = ApiTestSupport.engineEvents(home, source, "epoch").get(2).get("train_loss").asDouble();
        double tunedFirstLoss = ApiTestSupport.engineEvents(home, tuned, "step").get(0).get("loss").asDouble();
        assertTrue(tunedFirstLoss < sourceFirstLoss / 2 && tunedFirstLoss < 2 * sourceLastLoss + 0.05,
                "the first step of the fine-tuned job (loss " + tunedFirstLoss + ") starts where the source ended (train loss "
                        + sourceLastLoss + "), not where it began (" + sourceFirstLoss + ")");
    }

    @Test
    void everyRequestNeedsAValidToken() {
        assertEquals(401, kiln.get("/api/v1/jobs", null).status());
        assertEquals(401, kiln.get("/api/v1/jobs", "not-a-token").status());
        assertEquals(401, kiln.post("/api/v1/jobs", null, TestData.spec("x", "tiny", 1)).status());
        assertEquals(200, kiln.get("/health", null).status(), "health is open");
    }

    /** A running job (cancelling a queued one is QueueRulesApiTest's): its owner's, cancelled by an admin. */
    @Test
    void cancellingARunningJobStopsItsWorker() {
        String alice = ApiTestSupport.token(kiln, "alice");
        String bob = ApiTestSupport.token(kiln, "bob");
        assertEquals("alice", kiln.get("/api/v1/me", alice).json().get("name").asText());
        String id = kiln.submit(TestData.spec("to-cancel", "tiny", 5000), alice);
        kiln.awaitJob(id, KilnServer.runningWithEpoch(1), TIMEOUT);
        ProcessHandle worker = ProcessHandle.of(workerPid(id)).orElseThrow();

        KilnServer.Answer denied = kiln.post("/api/v1/jobs/" + id + "/cancel", bob, null);
        assertEquals(403, denied.status());
        assertTrue(denied.json().get("message").asText().contains("belongs to alice"), denied.body());
        assertEquals(403, kiln.post("/api/v1/users", alice, "{\"name\":\"mallory\"}").status(), "users are admin-only");
        assertTrue(worker.isAlive(), "a refused cancel leaves the worker alone");

        KilnServer.Answer requested = kiln.post("/api/v1/jobs/" + id + "/cancel", KilnServer.ADMIN, null);
        assertEquals(200, requested.status(), requested.body());
        assertEquals("RUNNING", requested.json().get("state").asText(), "a running job ends once its worker has stopped");
        JsonNode job = kiln.awaitState(id, "CANCELLED", TIMEOUT);
        assertTrue(job.path("finishedAt").isTextual());
        assertTrue(job.path("error").isNull(), "a cancel is no failure: " + job);
        assertFalse(worker.isAlive(), "the worker process is gone");
        assertFalse(embedded.getApplicationContext().getBean(Scheduler.class).workerPid(Long.parseLong(id)).isPresent());
        int epochAtCancel = job.path("progress").path("epoch").asInt();
        assertTrue(epochAtCancel >= 1 && epochAtCancel < 5000, job.toString());
    }

    @Test
    void aKilledWorkerFailsItsJobAndTheServiceGoesOn() {
        String id = kiln.submit(TestData.spec("to-kill", "tiny", 5000));
        kiln.awaitJob(id, KilnServer.runningWithEpoch(1), TIMEOUT);
        ProcessHandle.of(workerPid(id)).orElseThrow().destroyForcibly();
        JsonNode job = kiln.awaitState(id, "FAILED", TIMEOUT);
        assertTrue(job.path("error").asText().contains("killed by signal 9"), job.toString());
        // The next job runs as usual.
        String next = kiln.submit(TestData.spec("after-kill", "tiny", 1));
        kiln.awaitState(next, "SUCCEEDED", TIMEOUT);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            negative units     | "units":16             | "units":-16            | model.layers[1].units
            unknown layer      | "type":"relu"          | "type":"relu7"         | model.layers[2].type
            zero lr            | "lr":0.05              | "lr":0                 | optimizer.lr
            unknown field      | "seed":1               | "seed":1,"sed":2       | training.sed
            zero epochs        | "epochs":1             | "epochs":0             | training.epochs
            missing dataset    | "name":"tiny"          | "name":"nope"          | data.name
            no such gpu        | "device":"cpu"         | "device":"cuda:99"     | device
            bad loss           | "device":"cpu"         | "device":"cpu","loss":"l1" | loss
            """)
    void badSpecsAreRefusedNamingTheField(String rule, String from, String to, String field) {
        String spec = TestData.spec("bad", "tiny", 1).replace(from, to);
        KilnServer.Answer a = kiln.post("/api/v1/jobs", KilnServer.ADMIN, spec);
        assertEquals(400, a.status(), rule + ": " + a.body());
        assertEquals(field, a.json().get("field").asText(), rule + ": " + a.body());
        assertTrue(a.json().get("message").asText().startsWith(field + ": "), a.body());
    }

    @Test
    void aGpuJobOnAServerWithoutGpusIsRefused() {
        JsonNode devices = kiln.get("/api/v1/devices", KilnServer.ADMIN).json();
        assumeTrue(devices.findValues("kind").stream().noneMatch(k -> k.asText().equals("gpu")),
                "this server has GPUs: a \"cuda\" job is accepted here, the refusal is for servers without one");
        String spec = TestData.spec("bad", "tiny", 1).replace("\"device\":\"cpu\"", "\"device\":\"cuda\"");
        KilnServer.Answer a = kiln.post("/api/v1/jobs", KilnServer.ADMIN, spec);
        assertEquals(400, a.status(), a.body());
        assertEquals("device", a.json().get("field").asText());
        assertTrue(a.json().get("message").asText().contains("this server has no GPU"), a.body());
    }

    @Test
    void notJsonIsA400() {
        KilnServer.Answer a = kiln.post("/api/v1/jobs", KilnServer.ADMIN, "{\"name\": ");
        assertEquals(400, a.status());
        assertTrue(a.json().get("message").asText().contains("not valid JSON"), a.body());
    }

    @Test
    void devicesListTheCpu() {
        JsonNode devices = kiln.get("/api/v1/devices", KilnServer.ADMIN).json();
        assertTrue(devices.isArray() && devices.size() >= 1);
        JsonNode cpu = devices.get(devices.size() - 1);
        assertEquals("cpu", cpu.get("name").asText());
        assertTrue(cpu.get("cores").asInt() >= 1);
        assertTrue(cpu.get("slot").asBoolean(), "kiln.cpu-slot=on (KilnServer.properties) gives the CPU a slot");
    }

    @Test
    void prometheusCountsTheJobsByStateAndOpenApiIsServed() {
        String prom = kiln.get("/prometheus", null).body();
        for (String state : List.of("QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED")) {
            int total = kiln.get("/api/v1/jobs?state=" + state, KilnServer.ADMIN).json().get("total").asInt();
            assertEquals(total, gauge(prom, "kiln_jobs{state=\"" + state + "\""), state + " in\n"
                    + prom.lines().filter(l -> l.startsWith("kiln_")).toList());
        }
        int queued = kiln.get("/api/v1/jobs?state=QUEUED", KilnServer.ADMIN).json().get("total").asInt();
        assertEquals(queued, gauge(prom, "kiln_queue_length"));
        KilnServer.Answer api = kiln.get("/openapi/kiln-1.yml", null);
        assertEquals(200, api.status());
        assertTrue(api.body().contains("/api/v1/jobs/{id}/cancel"));
    }

    /** The value of the first Prometheus sample whose name and labels start with {@code prefix}. */
    private static double gauge(String prometheus, String prefix) {
        return prometheus.lines().filter(l -> l.startsWith(prefix)).findFirst()
                .map(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .orElseThrow(() -> new AssertionError("no " + prefix + " in the Prometheus text"));
    }

    private long workerPid(String id) {
        return embedded.getApplicationContext().getBean(Scheduler.class).workerPid(Long.parseLong(id)).orElseThrow();
    }
}
