package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A service restart resumes running jobs from their last checkpoint, without losing or duplicating metric
 * points: after a graceful stop, and after a crash that left the job marked running by this server.
 */
class RestartResumeTest {
    static final Duration TIMEOUT = Duration.ofSeconds(120);
    static final Map<String, Object> SERVER = Map.of("kiln.server-id", "restart-test");

    @Test
    void aGracefulRestartResumesTheJobFromItsCheckpoint(@TempDir Path home) throws IOException {
        TestData.write(home.resolve("data"), "tiny", 1200, 200, 4);
        String id;
        int checkpointEpoch;
        try (KilnServer first = new KilnServer(home, home.resolve("data"), null, SERVER)) {
            id = first.submit(TestData.spec("resume-me", "tiny", 400));
            JsonNode running = first.awaitJob(id, j -> j.path("progress").path("epoch").asInt() >= 3, TIMEOUT);
            checkpointEpoch = running.path("progress").path("epoch").asInt();
        }
        try (KilnServer second = new KilnServer(home, home.resolve("data"), null, SERVER)) {
            JsonNode done = second.awaitState(id, "SUCCEEDED", TIMEOUT);
            assertEquals(2, done.path("attempts").asInt(), "one run before the restart, one after");
            assertEpochsOnceEach(second, id, 400);
            String log = second.get("/api/v1/jobs/" + id + "/log", KilnServer.ADMIN).body();
            assertTrue(log.contains("resuming after epoch"), log.length() > 2000 ? log.substring(0, 2000) : log);
            assertTrue(checkpointEpoch >= 3);
        }
    }

    @Test
    void aJobLeftRunningByACrashIsResumedAtStartUp(@TempDir Path home) throws IOException, SQLException {
        TestData.write(home.resolve("data"), "tiny", 600, 200, 4);
        String id;
        try (KilnServer first = new KilnServer(home, home.resolve("data"), null, SERVER)) {
            id = first.submit(TestData.spec("crash", "tiny", 300));
            first.awaitJob(id, j -> j.path("progress").path("epoch").asInt() >= 2, TIMEOUT);
        }
        // What a crash leaves behind: the job still marked running by this server.
        try (Connection c = DriverManager.getConnection("jdbc:h2:file:" + home.resolve("db").resolve("kiln") + ";DATABASE_TO_LOWER=TRUE", "sa", "")) {
            c.createStatement().executeUpdate("UPDATE jobs SET state = 'RUNNING', server_id = 'restart-test' WHERE id = " + id);
        }
        try (KilnServer second = new KilnServer(home, home.resolve("data"), null, SERVER)) {
            JsonNode done = second.awaitState(id, "SUCCEEDED", TIMEOUT);
            assertEquals(2, done.path("attempts").asInt());
            assertEpochsOnceEach(second, id, 300);
        }
    }

    static void assertEpochsOnceEach(KilnServer server, String id, int epochs) {
        JsonNode m = server.get("/api/v1/jobs/" + id + "/metrics", KilnServer.ADMIN).json();
        java.util.List<Integer> seen = new java.util.ArrayList<>();
        m.get("epochs").forEach(e -> seen.add(e.get("epoch").asInt()));
        java.util.List<Integer> missing = new java.util.ArrayList<>();
        for (int e = 1; e <= epochs; e++) {
            if (!seen.contains(e)) {
                missing.add(e);
            }
        }
        assertEquals(epochs, seen.size(), "one point per epoch, none lost or repeated; missing " + missing + "; log:\n"
                + server.get("/api/v1/jobs/" + id + "/log", KilnServer.ADMIN).body().lines()
                        .filter(l -> l.startsWith("kiln") || l.contains("resum")).toList());
        for (int e = 0; e < epochs; e++) {
            assertEquals(e + 1, m.get("epochs").get(e).get("epoch").asInt());
        }
        Set<Long> steps = new HashSet<>();
        for (JsonNode s : m.get("steps")) {
            assertTrue(steps.add(s.get("globalStep").asLong()), "step " + s + " stored twice");
        }
    }

}
