package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.train.Trainer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A service restart resumes running jobs from their last checkpoint, without losing or duplicating metric
 * points: after a graceful stop, and after a crash that left the job marked running by this server with points
 * the store never got. That the job resumed, rather than started over, is proved by {@link ResumeChecks}.
 */
@Timeout(300)
class RestartResumeTest {
    static final Duration TIMEOUT = Duration.ofSeconds(120);
    static final Map<String, Object> SERVER = Map.of("kiln.server-id", "restart-test");

    @Test
    void aGracefulRestartResumesTheJobFromItsCheckpoint(@TempDir Path home) throws Exception {
        Path data = home.resolve("data");
        TestData.write(data, "tiny", 1200, 200, 4);
        String id;
        JsonNode before;
        JsonNode firstAttempt;
        try (KilnServer first = new KilnServer(home, data, null, SERVER)) {
            id = first.submit(TestData.spec("resume-me", "tiny", 400));
            // At epoch 4's first step, epoch 3's checkpoint is on disk.
            firstAttempt = first.awaitJob(id, j -> j.path("progress").path("epoch").asInt() >= 4, TIMEOUT);
            before = metrics(first, id);
        }
        Path jobDir = home.resolve("jobs").resolve(id);
        int k = Checkpoint.readEpoch(jobDir.resolve(Trainer.CHECKPOINT_FILE));
        try (KilnServer second = new KilnServer(home, data, null, SERVER)) {
            JsonNode done = second.awaitState(id, "SUCCEEDED", TIMEOUT);
            assertEquals(2, done.path("attempts").asInt(), "one run before the restart, one after");
            int steps = done.path("progress").path("steps").asInt();
            JsonNode after = metrics(second, id);
            ResumeChecks.assertEpochsOnceEach(after, 400, steps);
            ResumeChecks.assertResumedAfter(jobDir, log(second, id), k, steps);
            ResumeChecks.assertKept(before, after, k);
            assertTimedAcrossAttempts(firstAttempt, done, k);
        }
        ResumeChecks.assertSameWeightsAsUninterrupted(jobDir, data, home.resolve("reference"));
    }

    @Test
    void aJobLeftRunningByACrashResumesWithThePointsTheStoreMissed(@TempDir Path home) throws Exception {
        Path data = home.resolve("data");
        TestData.write(data, "tiny", 600, 200, 4);
        String id;
        try (KilnServer first = new KilnServer(home, data, null, SERVER)) {
            id = first.submit(TestData.spec("crash", "tiny", 300));
            first.awaitJob(id, j -> j.path("progress").path("epoch").asInt() >= 4, TIMEOUT);
        }
        Path jobDir = home.resolve("jobs").resolve(id);
        int k = Checkpoint.readEpoch(jobDir.resolve(Trainer.CHECKPOINT_FILE));
        // What a crash leaves behind: the job still marked running by this server, and points of its last
        // checkpointed epochs in the events file only (the server died before it stored them). The store may lag
        // the worker by more than that (it stores a step while the worker trains on), so what it lacks is counted.
        long missingEpochs;
        long missingSteps;
        try (Connection c = DriverManager.getConnection("jdbc:h2:file:" + home.resolve("db").resolve("kiln")
                + ";DATABASE_TO_LOWER=TRUE", "sa", ""); Statement s = c.createStatement()) {
            // The store also lags the checkpoint file by an epoch (it never read the last checkpoint event).
            assertEquals(1, s.executeUpdate("UPDATE jobs SET state = 'RUNNING', server_id = 'restart-test', "
                    + "checkpoint_epoch = " + (k - 1) + " WHERE id = " + id));
            for (String table : List.of("epoch_metrics", "step_metrics")) {
                s.executeUpdate("DELETE FROM " + table + " WHERE job_id = " + id + " AND epoch >= " + (k - 1));
            }
            missingEpochs = k - count(s, "SELECT COUNT(*) FROM epoch_metrics WHERE job_id = " + id);
            missingSteps = stepEvents(jobDir, k) - count(s, "SELECT COUNT(*) FROM step_metrics WHERE job_id = " + id);
        }
        JsonNode inFile = epochPoints(jobDir, k);
        try (KilnServer second = new KilnServer(home, data, null, SERVER)) {
            JsonNode done = second.awaitState(id, "SUCCEEDED", TIMEOUT);
            assertEquals(2, done.path("attempts").asInt());
            assertEquals(k, done.path("progress").path("resumedAfterEpoch").asInt(), "the file's epoch, not the store's");
            int steps = done.path("progress").path("steps").asInt();
            JsonNode after = metrics(second, id);
            ResumeChecks.assertEpochsOnceEach(after, 300, steps);
            String log = log(second, id);
            ResumeChecks.assertResumedAfter(jobDir, log, k, steps);
            assertTrue(log.contains("kiln: recovered " + missingEpochs + " epoch and " + missingSteps + " step points from "
                    + Trainer.EVENTS_FILE), log.lines().filter(l -> l.startsWith("kiln")).toList().toString());
            for (int e = k - 1; e <= k; e++) {
                JsonNode stored = after.get("epochs").get(e - 1);
                assertEquals(inFile.get(e - 1).get("train_loss").asDouble(), stored.get("train_loss").asDouble(),
                        "epoch " + e + " recovered from the events file");
                assertEquals(inFile.get(e - 1).get("seconds").asDouble(), stored.get("seconds").asDouble());
            }
        }
        ResumeChecks.assertSameWeightsAsUninterrupted(jobDir, data, home.resolve("reference"));
    }

    /**
     * The job keeps its first start; its running time adds up both attempts (more than the second alone took);
     * the second attempt's start and the epoch it resumed after are what its ETA counts from.
     */
    static void assertTimedAcrossAttempts(JsonNode firstAttempt, JsonNode done, int k) {
        String firstStart = firstAttempt.path("startedAt").asText();
        assertEquals(firstStart, done.path("startedAt").asText(), "startedAt is the first attempt's");
        java.time.Instant second = java.time.Instant.parse(done.path("attemptStartedAt").asText());
        assertTrue(second.isAfter(java.time.Instant.parse(firstStart)), done.toString());
        double secondAlone = java.time.Duration.between(second, java.time.Instant.parse(done.path("finishedAt").asText()))
                .toMillis() / 1000.0;
        assertTrue(done.path("runningSeconds").asDouble() > secondAlone + 0.2, "both attempts' running time: " + done);
        assertEquals(k, done.path("progress").path("resumedAfterEpoch").asInt());
    }

    /** The step events of epochs up to k in the events file (before the restart, of the first run alone). */
    private static long stepEvents(Path jobDir, int k) {
        return ResumeChecks.events(jobDir).stream().filter(e -> e.path("event").asText().equals("step"))
                .filter(e -> e.path("epoch").asInt() <= k).count();
    }

    private static long count(Statement s, String sql) throws java.sql.SQLException {
        try (var rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** The epoch events of the first run up to epoch k, as the engine wrote them to the events file (index epoch - 1). */
    private static JsonNode epochPoints(Path jobDir, int k) {
        var out = ResumeChecks.JSON.createArrayNode();
        ResumeChecks.events(jobDir).stream().filter(e -> e.path("event").asText().equals("epoch"))
                .filter(e -> e.path("epoch").asInt() <= k).forEach(out::add);
        assertEquals(k, out.size(), "epoch events 1.." + k + " in the events file");
        return out;
    }

    private static JsonNode metrics(KilnServer server, String id) {
        return server.get("/api/v1/jobs/" + id + "/metrics", KilnServer.ADMIN).json();
    }

    private static String log(KilnServer server, String id) {
        return server.get("/api/v1/jobs/" + id + "/log", KilnServer.ADMIN).body();
    }
}
