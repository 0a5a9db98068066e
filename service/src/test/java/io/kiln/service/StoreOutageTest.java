package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.service.config.KilnPaths;
import io.kiln.service.store.FaultyFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The embedded database's file becomes unwritable (H2 itself meets the failed writes, {@link FaultyFiles}) while a
 * job trains and users submit, then writable again: no submission is acknowledged that is not stored, /health says
 * DOWN and then UP by itself, the log says so once each way, and no job or metric point is lost, not even across a
 * restart of the service.
 */
@Timeout(300)
class StoreOutageTest {
    static final Duration WAIT = Duration.ofSeconds(120);

    @AfterEach
    void writable() {
        FaultyFiles.readOnly(false);
    }

    @Test
    void nothingAcknowledgedIsLostAndTheServiceComesBackByItself(@TempDir Path home) throws Exception {
        Path data = home.resolve("data");
        TestData.write(data, "tiny", 2000, 200, 4);
        String url = FaultyFiles.url(KilnPaths.h2Url(home));
        Logger healthLog = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> said = new ListAppender<>();
        said.start();
        healthLog.addAppender(said);
        String trainingId;
        String afterId;
        int epochs = 12;
        try (KilnServer kiln = new KilnServer(home, data, url, Map.of("kiln.store-probe-interval", "500ms"))) {
            assertEquals(200, kiln.get("/health", null).status());
            String user = ApiTestSupport.token(kiln, "outage-user", "user");
            // Small batches: a few seconds of training, reported step by step.
            String spec = TestData.spec("through-the-outage", "tiny", epochs).replace("\"batchSize\":32", "\"batchSize\":8");
            trainingId = kiln.submit(spec);
            kiln.awaitJob(trainingId, j -> j.path("progress").path("epoch").asInt() >= 2, WAIT);

            FaultyFiles.readOnly(true);
            List<KilnServer.Answer> refused = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                refused.add(kiln.post("/api/v1/jobs", KilnServer.ADMIN, TestData.spec("refused-" + i, "tiny", 1)));
            }
            for (KilnServer.Answer a : refused) {
                assertEquals(503, a.status(), "a submission the store could not take is not acknowledged: " + a.body());
                String message = a.json().path("message").asText();
                assertTrue(message.contains("the job store cannot be written") && message.contains("nothing was saved"),
                        message);
            }
            // A user's first request notes their token's use: that write fails too, and the token is not refused for
            // it. H2 closes its database after a failed commit, so that until it reopens it reads fail as well: 503
            // then, never 401 (on PostgreSQL, which goes on reading, the same request is a 200: the test below).
            KilnServer.Answer read = kiln.get("/api/v1/me", user);
            if (read.status() == 200) {
                assertEquals("outage-user", read.json().path("name").asText());
            } else {
                assertEquals(503, read.status(), "a valid token is not refused while the store is down: " + read.body());
                assertTrue(read.json().path("message").asText().contains("the job store cannot be written"), read.body());
            }
            KilnServer.Answer health = kiln.get("/health", KilnServer.ADMIN);
            assertEquals(503, health.status(), health.body());
            assertEquals("DOWN", health.json().path("status").asText(), health.body());
            assertEquals("DOWN", health.json().path("details").path("kiln-store").path("status").asText(), health.body());

            // The worker trains to its end while nothing can be stored; its events file keeps every point.
            Path events = home.resolve("jobs").resolve(trainingId).resolve("events.jsonl");
            await(() -> contains(events, "\"event\":\"done\""), "the worker finished during the outage");
            Thread.sleep(1500);
            assertEquals(503, kiln.get("/health", null).status(), "still down");
            assertEquals(1, count(said, "job store DOWN"), "the log said DOWN once: " + lines(said));
            assertEquals(List.of("job store DOWN"), said.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                    .map(e -> e.getFormattedMessage().substring(0, 14)).toList(), "and nothing else went wrong: "
                    + lines(said));

            FaultyFiles.readOnly(false);
            await(() -> kiln.get("/health", null).status() == 200, "/health is UP again by itself");
            assertEquals(1, count(said, "job store UP again"), lines(said).toString());
            afterId = kiln.submit(TestData.spec("after", "tiny", 1));
            assertEquals(200, kiln.get("/api/v1/jobs/" + afterId, KilnServer.ADMIN).status());

            JsonNode done = kiln.awaitState(trainingId, "SUCCEEDED", WAIT);
            assertEquals(epochs, done.path("progress").path("epoch").asInt(), done.toString());
            assertStoredAsTheEventsFileSays(kiln.get("/api/v1/jobs/" + trainingId + "/metrics", KilnServer.ADMIN).json(),
                    events, epochs);
            kiln.awaitState(afterId, "SUCCEEDED", WAIT);
            assertEquals(1, count(said, "job store DOWN"), "once per change, not per attempt: " + lines(said));
        } finally {
            healthLog.detachAppender(said);
        }

        // What was acknowledged is in the file: a restarted service has both jobs, all the points, nothing more.
        try (KilnServer again = new KilnServer(home, data, null, Map.of())) {
            JsonNode jobs = again.get("/api/v1/jobs", KilnServer.ADMIN).json().path("jobs");
            List<String> names = new ArrayList<>();
            jobs.forEach(j -> names.add(j.path("name").asText()));
            assertEquals(List.of("after", "through-the-outage"), names, "no refused submission was stored");
            assertEquals("SUCCEEDED", again.get("/api/v1/jobs/" + trainingId, KilnServer.ADMIN).json().path("state").asText());
            assertStoredAsTheEventsFileSays(again.get("/api/v1/jobs/" + trainingId + "/metrics", KilnServer.ADMIN).json(),
                    home.resolve("jobs").resolve(trainingId).resolve("events.jsonl"), epochs);
        }
    }

    /**
     * The same on PostgreSQL, made read-only for real: the database's sessions are set read-only and the pool's
     * are ended, so that every new one refuses writes (SQLSTATE 25006), then set writable again.
     */
    @Test
    void aPostgresMadeReadOnlyAnswers503AndComesBack(@TempDir Path home) throws Exception {
        String url = TestPostgres.freshDatabase();
        Path data = home.resolve("data");
        TestData.write(data, "tiny", 2000, 200, 4);
        int epochs = 8;
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        ListAppender<ILoggingEvent> said = new ListAppender<>();
        said.start();
        root.addAppender(said);
        try (java.sql.Connection admin = java.sql.DriverManager.getConnection(url);
             KilnServer kiln = new KilnServer(home, data, url, Map.of("kiln.store-probe-interval", "500ms"))) {
            String id = kiln.submit(TestData.spec("pg-outage", "tiny", epochs).replace("\"batchSize\":32", "\"batchSize\":8"));
            String user = ApiTestSupport.token(kiln, "pg-user", "user");
            kiln.awaitJob(id, j -> j.path("progress").path("epoch").asInt() >= 2, WAIT);
            try {
                readOnly(admin, true);
                KilnServer.Answer refused = kiln.post("/api/v1/jobs", KilnServer.ADMIN, TestData.spec("refused", "tiny", 1));
                assertEquals(503, refused.status(), refused.body());
                assertTrue(refused.json().path("message").asText().contains("the job store cannot be written"), refused.body());
                // Its first use would note the token's use, which cannot be written: the token is good all the same.
                // A pooled connection that PostgreSQL ended may fail its next use once (503, "try again"): never a 401.
                KilnServer.Answer read = kiln.get("/api/v1/me", user);
                for (int attempt = 1; read.status() == 503 && attempt < 5; attempt++) {
                    assertTrue(read.json().path("message").asText().contains("the job store"), read.body());
                    read = kiln.get("/api/v1/me", user);
                }
                assertEquals(200, read.status(), "a valid token is not refused while the store is down: " + read.body());
                assertEquals("pg-user", read.json().path("name").asText());
                await(() -> kiln.get("/health", null).status() == 503, "/health says DOWN");
                Path events = home.resolve("jobs").resolve(id).resolve("events.jsonl");
                await(() -> contains(events, "\"event\":\"done\""), "the worker finished during the outage");
            } finally {
                readOnly(admin, false);
            }
            await(() -> kiln.get("/health", null).status() == 200, "/health is UP again by itself");
            kiln.awaitState(id, "SUCCEEDED", WAIT);
            assertStoredAsTheEventsFileSays(kiln.get("/api/v1/jobs/" + id + "/metrics", KilnServer.ADMIN).json(),
                    home.resolve("jobs").resolve(id).resolve("events.jsonl"), epochs);
            List<String> names = new ArrayList<>();
            kiln.get("/api/v1/jobs", KilnServer.ADMIN).json().path("jobs").forEach(j -> names.add(j.path("name").asText()));
            assertEquals(List.of("pg-outage"), names, "the refused submission was not stored");
            assertEquals(List.of("job store DOWN"), said.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN))
                    .map(e -> e.getFormattedMessage().substring(0, 14)).toList(), "said once: " + lines(said));
            assertEquals(1, count(said, "job store UP again"), lines(said).toString());
        } finally {
            root.detachAppender(said);
        }
    }

    /** New sessions of the test's database refuse writes (or take them again); the existing ones are ended. */
    static void readOnly(java.sql.Connection admin, boolean on) throws java.sql.SQLException {
        try (java.sql.Statement s = admin.createStatement()) {
            String db = admin.getCatalog();
            s.execute("ALTER DATABASE \"" + db + "\" " + (on ? "SET default_transaction_read_only = on"
                    : "RESET default_transaction_read_only"));
            s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
                    + "AND pid <> pg_backend_pid()");
        }
    }

    /** Every point the engine reported is stored once, with its values; no other point is stored. */
    static void assertStoredAsTheEventsFileSays(JsonNode metrics, Path events, int epochs) throws IOException {
        TreeMap<Long, Double> reported = new TreeMap<>();
        List<Integer> reportedEpochs = new ArrayList<>();
        for (String line : Files.readAllLines(events)) {
            JsonNode e = KilnServer.JSON.readTree(line);
            switch (e.path("event").asText()) {
                case "start" -> assertEquals(1, e.path("start_epoch").asInt(), "one run");
                case "step" -> reported.put((long) (e.path("epoch").asInt() - 1) * e.path("steps").asInt()
                        + e.path("step").asInt(), e.path("loss").asDouble());
                case "epoch" -> reportedEpochs.add(e.path("epoch").asInt());
                default -> { }
            }
        }
        assertEquals(epochs, reportedEpochs.size());
        List<Integer> stored = new ArrayList<>();
        metrics.get("epochs").forEach(e -> stored.add(e.path("epoch").asInt()));
        assertEquals(reportedEpochs, stored, "every epoch point, once");
        TreeMap<Long, Double> storedSteps = new TreeMap<>();
        for (JsonNode s : metrics.get("steps")) {
            assertTrue(storedSteps.put(s.path("globalStep").asLong(), s.path("loss").asDouble()) == null,
                    "step " + s + " stored twice");
        }
        assertEquals(reported.keySet(), storedSteps.keySet(), "every step point the engine reported");
        reported.forEach((step, loss) -> assertEquals(loss, storedSteps.get(step), 1e-9, "loss at step " + step));
    }

    static boolean contains(Path file, String text) {
        try {
            return Files.isRegularFile(file) && Files.readString(file).contains(text);
        } catch (IOException e) {
            return false;
        }
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long end = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < end) {
            if (condition.getAsBoolean()) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("not within " + WAIT + ": " + what);
    }

    static long count(ListAppender<ILoggingEvent> said, String text) {
        return said.list.stream().filter(e -> e.getFormattedMessage().contains(text)).count();
    }

    static List<String> lines(ListAppender<ILoggingEvent> said) {
        return said.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }
}
