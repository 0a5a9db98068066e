package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The jobs API over real HTTP, running real engine workers on the CPU on a small generated dataset. */
@MicronautTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
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
        assertEquals("cpu", job.path("device").asText());
        assertTrue(job.path("metrics").path("test_acc").asDouble() > 0.9, job.toString());

        String log = kiln.get("/api/v1/jobs/" + id + "/log", KilnServer.ADMIN).body();
        assertTrue(log.contains("epoch 3:") && log.contains("kiln: succeeded"), log);

        JsonNode metrics = kiln.get("/api/v1/jobs/" + id + "/metrics", KilnServer.ADMIN).json();
        assertEquals(3, metrics.get("epochs").size());
        assertEquals(3, metrics.get("epochs").get(2).get("epoch").asInt());
        assertTrue(metrics.get("epochs").get(0).get("val_acc").isNumber());
        int steps = metrics.get("steps").size();
        assertTrue(steps >= 3 * 15, "per-step losses of 3 epochs of 15 steps, got " + steps);
        JsonNode few = kiln.get("/api/v1/jobs/" + id + "/metrics?maxPoints=4", KilnServer.ADMIN).json();
        assertEquals(4, few.get("steps").size(), "downsampled to maxPoints");

        KilnServer.Answer ckpt = kiln.get("/api/v1/jobs/" + id + "/checkpoint", KilnServer.ADMIN);
        assertEquals(200, ckpt.status());
        assertTrue(ckpt.body().startsWith("KILNCKPT"), "the engine's checkpoint format");

        KilnServer.Answer report = kiln.get("/api/v1/jobs/" + id + "/report?images=10", KilnServer.ADMIN);
        assertEquals(200, report.status());
        assertTrue(report.body().contains("Confusion matrix") && report.body().contains("data:image/png;base64,"));

        JsonNode list = kiln.get("/api/v1/jobs?state=SUCCEEDED", KilnServer.ADMIN).json();
        assertTrue(list.get("total").asInt() >= 1);
        list.get("jobs").forEach(j -> assertEquals("SUCCEEDED", j.get("state").asText()));
    }

    @Test
    void everyRequestNeedsAValidToken() {
        assertEquals(401, kiln.get("/api/v1/jobs", null).status());
        assertEquals(401, kiln.get("/api/v1/jobs", "not-a-token").status());
        assertEquals(401, kiln.post("/api/v1/jobs", null, TestData.spec("x", "tiny", 1)).status());
        assertEquals(200, kiln.get("/health", null).status(), "health is open");
    }

    @Test
    void onlyTheOwnerOrAnAdminMayCancel() {
        String alice = token("alice");
        String bob = token("bob");
        assertEquals("alice", kiln.get("/api/v1/me", alice).json().get("name").asText());
        String id = kiln.submit(TestData.spec("long", "tiny", 5000), alice);
        KilnServer.Answer denied = kiln.post("/api/v1/jobs/" + id + "/cancel", bob, null);
        assertEquals(403, denied.status());
        assertTrue(denied.json().get("message").asText().contains("alice"), denied.body());
        assertEquals(403, kiln.post("/api/v1/users", alice, "{\"name\":\"mallory\"}").status(), "users are admin-only");
        assertEquals(200, kiln.post("/api/v1/jobs/" + id + "/cancel", alice, null).status());
        kiln.awaitState(id, "CANCELLED", TIMEOUT);
    }

    @Test
    void cancellingARunningJobStopsItsWorker() {
        String id = kiln.submit(TestData.spec("to-cancel", "tiny", 5000));
        kiln.awaitJob(id, j -> j.path("state").asText().equals("RUNNING") && j.path("progress").path("epoch").asInt() >= 1, TIMEOUT);
        long cancelledPid = embedded.getApplicationContext().getBean(Scheduler.class).workerPid(Long.parseLong(id)).orElseThrow();
        assertEquals(200, kiln.post("/api/v1/jobs/" + id + "/cancel", KilnServer.ADMIN, null).status());
        JsonNode job = kiln.awaitState(id, "CANCELLED", TIMEOUT);
        assertTrue(job.path("finishedAt").isTextual());
                assertTrue(ProcessHandle.of(cancelledPid).map(ProcessHandle::isAlive).orElse(false) == false,
                "the worker process is gone");
        assertEquals(0, workers(id));
    }

    @Test
    void aKilledWorkerFailsItsJobAndTheServiceGoesOn() throws InterruptedException {
        String id = kiln.submit(TestData.spec("to-kill", "tiny", 5000));
        kiln.awaitJob(id, j -> j.path("state").asText().equals("RUNNING") && j.path("progress").path("epoch").asInt() >= 1, TIMEOUT);
        long pid = embedded.getApplicationContext().getBean(Scheduler.class).workerPid(Long.parseLong(id)).orElseThrow();
        ProcessHandle.of(pid).orElseThrow().destroyForcibly();
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
            gpu on a cpu host  | "device":"cpu"         | "device":"cuda"        | device
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
    }

    @Test
    void prometheusAndOpenApiAreServed() {
        kiln.submit(TestData.spec("for-metrics", "tiny", 1));
        String prom = kiln.get("/prometheus", null).body();
        assertTrue(prom.contains("kiln_queue_length") && prom.contains("kiln_jobs"), prom.length() > 500 ? prom.substring(0, 500) : prom);
        KilnServer.Answer api = kiln.get("/openapi/kiln-1.yml", null);
        assertEquals(200, api.status());
        assertTrue(api.body().contains("/api/v1/jobs/{id}/cancel"));
    }

    private int workers(String id) {
        return embedded.getApplicationContext().getBean(Scheduler.class).workerPid(Long.parseLong(id)).isPresent() ? 1 : 0;
    }

    /** Creates a user (as the admin) and returns a fresh token of theirs. */
    private String token(String user) {
        KilnServer.Answer u = kiln.post("/api/v1/users", KilnServer.ADMIN, "{\"name\":\"" + user + "\",\"role\":\"user\"}");
        assertTrue(u.status() == 201 || u.status() == 409, u.body());
        KilnServer.Answer t = kiln.post("/api/v1/users/" + user + "/tokens", KilnServer.ADMIN, "{}");
        assertEquals(201, t.status(), t.body());
        return t.json().get("token").asText();
    }
}
