package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.train.Trainer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service really crashes: it runs as a process of its own and is killed with SIGKILL while a job runs, which
 * leaves its worker process behind. The restarted service resumes the job from its checkpoint, never with two
 * workers training in one job folder, and stores every epoch exactly once.
 */
@Timeout(400)
class ServiceCrashTest {
    static final List<String> SAME_SERVER = List.of("-Dkiln.server-id=crash-test");
    /**
     * How long an orphaned worker may take to notice and exit. It stops at its next event, within milliseconds,
     * but its JVM's exit can be slow on a busy machine; one that does not stop at all trains to its last epoch
     * meanwhile, which the test sees in its checkpoint.
     */
    static final long ORPHAN_EXIT_SECONDS = 60;

    static ServiceProcess start(Path home) throws Exception {
        return ServiceProcess.start(Map.of("KILN_HOME", home.toString(), "KILN_DATA_ROOT", home.resolve("data").toString()),
                SAME_SERVER, home, home.resolve("service.log"));
    }

    /** A job and its worker, left behind by a service killed while the job ran. */
    record Crashed(String id, ProcessHandle worker) {
    }

    /** What to do to the worker just before its service dies. */
    interface BeforeKill {
        void accept(ProcessHandle worker) throws Exception;
    }

    /**
     * Starts a service in {@code home}, submits a job of {@code epochs} on the tiny set, and once it has trained
     * three epochs does {@code beforeKill} to its worker and kills the service with SIGKILL.
     */
    static Crashed crashWhileTraining(Path home, String name, int epochs, BeforeKill beforeKill)
            throws Exception {
        TestData.write(home.resolve("data"), "tiny", 600, 200, 4);
        try (ServiceProcess first = start(home)) {
            String id = first.submit(TestData.spec(name, "tiny", epochs));
            first.await(id, j -> j.path("progress").path("epoch").asInt() >= 3);
            ProcessHandle worker = first.onlyWorker();
            beforeKill.accept(worker);
            first.kill();
            return new Crashed(id, worker);
        }
    }

    @Test
    void anOrphanedWorkerStopsByItselfAndTheJobResumes(@TempDir Path home) throws Exception {
        int epochs = 600;
        Crashed crash = crashWhileTraining(home, "crash", epochs, w -> { });
        String id = crash.id();
        ProcessHandle worker = crash.worker();
        // Its events have nowhere to go: the worker notices at its next event and stops, long before the end.
        assertTrue(worker.onExit().completeOnTimeout(null, ORPHAN_EXIT_SECONDS, TimeUnit.SECONDS).get() != null,
                "the orphaned worker " + worker.pid() + " still runs " + ORPHAN_EXIT_SECONDS + " s after its service died");
        Path jobDir = home.resolve("jobs").resolve(id);
        int k = Checkpoint.readEpoch(jobDir.resolve(Trainer.CHECKPOINT_FILE));
        assertTrue(k < epochs, "the orphan stopped by itself, it did not train to the end (checkpoint of epoch " + k + ")");

        try (ServiceProcess second = start(home)) {
            JsonNode done = second.awaitState(id, "SUCCEEDED");
            assertEquals(2, done.path("attempts").asInt(), done.toString());
            assertEquals(epochs, done.path("progress").path("epoch").asInt());
            int steps = done.path("progress").path("steps").asInt();
            ResumeChecks.assertEpochsOnceEach(second.get("/api/v1/jobs/" + id + "/metrics").json(), epochs, steps);
            ResumeChecks.assertResumedAfter(jobDir, second.get("/api/v1/jobs/" + id + "/log").body(), k, steps);
        }
    }

    @Test
    void theRestartedServiceStopsAWorkerLeftOverFromTheCrash(@TempDir Path home) throws Exception {
        int epochs = 300;
        // A worker that does not notice the crash (stuck in a long step, say): frozen, it cannot.
        Crashed crash = crashWhileTraining(home, "stuck", epochs, w -> ServiceProcess.signal(w, "STOP"));
        String id = crash.id();
        ProcessHandle worker = crash.worker();
        try {
            assertTrue(worker.isAlive(), "the frozen worker outlived its service");
            Path jobDir = home.resolve("jobs").resolve(id);
            int k = Checkpoint.readEpoch(jobDir.resolve(Trainer.CHECKPOINT_FILE));
            try (ServiceProcess second = start(home)) {
                JsonNode done = second.awaitState(id, "SUCCEEDED");
                assertFalse(worker.isAlive(), "the worker of the first run was stopped");
                assertEquals(2, done.path("attempts").asInt(), done.toString());
                int steps = done.path("progress").path("steps").asInt();
                ResumeChecks.assertEpochsOnceEach(second.get("/api/v1/jobs/" + id + "/metrics").json(), epochs, steps);
                String log = second.get("/api/v1/jobs/" + id + "/log").body();
                assertTrue(log.contains("kiln: stopping worker process " + worker.pid() + " left over from an earlier run"),
                        log.lines().filter(l -> l.startsWith("kiln")).toList().toString());
                ResumeChecks.assertResumedAfter(jobDir, log, k, steps);
            }
        } finally {
            worker.destroyForcibly();
        }
    }
}
