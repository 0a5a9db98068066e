package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.service.config.KilnPaths;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a restarted server does with a job that a crash left marked running by it: it takes back from the
 * worker's events file the metric points the store lacks, and it gives up on a job once kiln.max-attempts runs
 * were lost. Each crash is what it leaves in the store (the job still RUNNING on this server, points not yet
 * written), made with SQL between two runs of the server on one home.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class CrashRecoveryTest {
    static final Duration TIMEOUT = Duration.ofSeconds(90);
    static final String SERVER_ID = "recovery-test";

    static KilnServer server(Path home, Map<String, Object> extra) {
        Map<String, Object> p = new java.util.HashMap<>(Map.of("kiln.server-id", SERVER_ID));
        p.putAll(extra);
        return new KilnServer(home, home.resolve("data"), null, p);
    }

    @Test
    void pointsTheStoreLacksAreRecoveredFromTheWorkersEventsFile(@TempDir Path home) throws Exception {
        TestData.write(home.resolve("data"), "tiny", 200, 40, 4);
        String id;
        JsonNode stored;
        try (KilnServer first = server(home, Map.of())) {
            id = first.submit(TestData.spec("recover", "tiny", 3));
            first.awaitState(id, "SUCCEEDED", TIMEOUT);
            stored = first.get("/api/v1/jobs/" + id + "/metrics", KilnServer.ADMIN).json();
        }
        int lostSteps = 0;
        for (JsonNode s : stored.get("steps")) {
            lostSteps += s.get("epoch").asInt() >= 2 ? 1 : 0;
        }
        assertTrue(lostSteps > 0);
        try (Connection c = h2(home)) {
            leftRunning(c, id);
            // The server went down before it stored epochs 2 and 3, which the worker had finished and checkpointed.
            for (String table : new String[] {"epoch_metrics", "step_metrics"}) {
                update(c, "DELETE FROM " + table + " WHERE job_id = ? AND epoch >= 2", id);
            }
        }
        try (KilnServer second = server(home, Map.of())) {
            JsonNode done = second.awaitState(id, "SUCCEEDED", TIMEOUT);
            assertEquals(2, done.get("attempts").asInt(), done.toString());
            JsonNode recovered = second.get("/api/v1/jobs/" + id + "/metrics", KilnServer.ADMIN).json();
            assertEquals(stored.get("epochs"), recovered.get("epochs"), "every epoch point back, with its figures");
            assertEquals(stored.get("steps"), recovered.get("steps"), "every step point back, with its loss");
            String log = second.get("/api/v1/jobs/" + id + "/log", KilnServer.ADMIN).body();
            assertTrue(log.contains("kiln: recovered 2 epoch and " + lostSteps + " step points from events.jsonl"),
                    log.lines().filter(l -> l.startsWith("kiln")).toList().toString());
        }
    }

    @Test
    void aJobWhoseRunsWereLostMaxAttemptsTimesFails(@TempDir Path home) throws Exception {
        TestData.write(home.resolve("data"), "tiny", 100, 40, 4);
        Map<String, Object> twoAttempts = Map.of("kiln.max-attempts", "2");
        String id;
        try (KilnServer first = server(home, twoAttempts)) {
            id = first.submit(TestData.spec("doomed", "tiny", 5000));
            first.awaitJob(id, j -> j.path("progress").path("epoch").asInt() >= 2, TIMEOUT);
        }
        crash(home, id);
        try (KilnServer second = server(home, twoAttempts)) {
            // One lost run of two allowed: it runs again, from its checkpoint.
            second.awaitJob(id, j -> j.path("state").asText().equals("RUNNING") && j.path("attempts").asInt() == 2,
                    TIMEOUT);
            // The job is RUNNING once claimed, before its worker starts (and its progress is the first run's): the
            // second run is under way once its worker has written its start to the events file.
            awaitStarts(home.resolve("jobs").resolve(id).resolve("events.jsonl"), 2);
        }
        crash(home, id);
        try (KilnServer third = server(home, twoAttempts)) {
            JsonNode failed = third.awaitState(id, "FAILED", TIMEOUT);
            assertEquals("the server restarted while it ran; gave up after 2 attempts", failed.get("error").asText());
            assertEquals(2, failed.get("attempts").asInt(), "no third run: " + failed);
            String log = third.get("/api/v1/jobs/" + id + "/log", KilnServer.ADMIN).body();
            assertEquals(2, log.lines().filter(l -> l.matches("kiln: (starting|resuming after epoch \\d+) on cpu .*")).count(),
                    log.lines().filter(l -> l.startsWith("kiln")).toList().toString());
        }
    }

    private static void awaitStarts(Path events, int starts) throws Exception {
        long end = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < end) {
            if (Files.isRegularFile(events)
                    && Files.readAllLines(events).stream().filter(l -> l.contains("\"event\":\"start\"")).count() >= starts) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the worker did not start run " + starts + " within " + TIMEOUT);
    }

    /** The store as a crash of the server leaves it: the job still running there (a graceful stop requeued it). */
    private static void crash(Path home, String id) throws SQLException {
        try (Connection c = h2(home)) {
            leftRunning(c, id);
        }
    }

    private static void leftRunning(Connection c, String id) throws SQLException {
        update(c, "UPDATE jobs SET state = 'RUNNING', server_id = '" + SERVER_ID + "', finished_at = NULL WHERE id = ?", id);
    }

    private static Connection h2(Path home) throws SQLException {
        return DriverManager.getConnection(KilnPaths.h2Url(home), "sa", "");
    }

    private static void update(Connection c, String sql, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setLong(1, Long.parseLong(id));
            assertTrue(ps.executeUpdate() > 0, sql);
        }
    }
}
