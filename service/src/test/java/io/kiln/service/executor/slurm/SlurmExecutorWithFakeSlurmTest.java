package io.kiln.service.executor.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.service.config.CpuSlot;
import io.kiln.service.config.KilnConfig;
import io.kiln.service.config.KilnPaths;
import io.kiln.service.executor.Launch;
import io.kiln.service.executor.Outcome;
import io.kiln.service.executor.RecordingListener;
import io.kiln.service.executor.Run;
import io.kiln.service.jobs.DatasetFacts;
import io.kiln.service.jobs.JobLog;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.MetricStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The SLURM executor's rules that a real cluster shows only after a crash at the wrong moment or a rare state:
 * against {@link FakeSlurm}. What a real cluster does is io.kiln.service.SlurmExecutorTest's.
 */
@Timeout(60)
class SlurmExecutorWithFakeSlurmTest {
    @TempDir
    Path home;
    FakeSlurm slurm;
    SlurmExecutor executor;
    final StringBuilder jobLog = new StringBuilder();

    /** What the executor told the scheduler about a run; one may refuse its batch job's id, as a cancel does. */
    static final class Heard extends RecordingListener {
        volatile boolean refuseId;

        @Override
        public void submitted(String batchJob) {
            if (refuseId) {
                throw new IllegalStateException("job 7 is no longer running here");
            }
            super.submitted(batchJob);
        }
    }

    @BeforeEach
    void start() {
        slurm = new FakeSlurm();
        KilnConfig config = new KilnConfig(home.toString(), null, null, "s1", "slurm", CpuSlot.AUTO, "1g", 100, 4,
                Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(60), 3, Duration.ofMinutes(30));
        SlurmSettings settings = new SlurmSettings(null, null, null, 2, "512m", "gpu:1", null, 0, 3,
                Duration.ofMillis(200), Duration.ofMillis(100), Duration.ofMillis(500), Duration.ofSeconds(5), "kiln",
                "/usr/bin/java", "/opt/kiln/kiln-service.jar", null, null);
        MetricStore noPoints = new MetricStore(null) {
            @Override
            public List<StepPoint> steps(long jobId) {
                return List.of();
            }

            @Override
            public List<EpochPoint> epochs(long jobId) {
                return List.of();
            }
        };
        JobLog log = new JobLog(null) {
            @Override
            public void append(long jobId, String text) {
                jobLog.append(text);
            }

            @Override
            public String text(long jobId) {
                return jobLog.toString();
            }
        };
        KilnPaths paths = new KilnPaths(config);
        executor = new SlurmExecutor(config, settings, slurm, paths, noPoints, new DatasetFacts(paths), log);
    }

    @AfterEach
    void stop() {
        executor.close();
    }

    JobRow job(String batchJob) throws Exception {
        Files.createDirectories(home.resolve("jobs").resolve("7"));
        return new JobRow(7L, "j", "alice", "{}", "cpu", 0, "RUNNING", "slurm:batch", "s1", null, false, 1, 0, 3, 0, 0, 0,
                null, null, null, Instant.EPOCH, null, null, 0, false, null, 0, batchJob, null);
    }

    Launch launch() throws Exception {
        JobRow j = job(null);
        Path dir = home.resolve("jobs").resolve("7");
        return new Launch(j, executor.vacancies().get(0), dir, dir.resolve("spec.json"), home.resolve("data"), false, 0,
                null, null);
    }

    static Outcome outcome(Run run, SlurmExecutor executor) throws Exception {
        return executor.follow(run).get(20, TimeUnit.SECONDS);
    }

    @Test
    void aJobIsReleasedOnlyOnceItsIdIsStoredAndThenFollowed() throws Exception {
        Heard heard = new Heard();
        Run run = executor.start(launch(), heard);
        assertEquals(List.of("submit 100", "release 100"), slurm.calls);
        assertTrue(slurm.submitted.get(0).contains("--hold"), slurm.submitted.toString());
        assertEquals("submitted 100", heard.calls.get(0), "stored before the release: " + heard.calls);
        assertTrue(Files.isRegularFile(home.resolve("jobs/7/slurm-100.events-from")), "where its events begin, noted");
        String script = Files.readString(home.resolve("jobs/7").resolve(BatchRequest.SCRIPT_FILE));
        assertTrue(script.contains("exec '/usr/bin/java' '-Xmx1024m'") && script.contains("'/opt/kiln/kiln-service.jar'"),
                script);

        awaitHeard(heard, "waiting not yet scheduled");
        slurm.set("100", "kiln-7", "RUNNING", "None");
        awaitHeard(heard, "running slurm:node1");
        Files.writeString(home.resolve("jobs/7/events.jsonl"), "{\"event\":\"start\",\"epochs\":1,\"steps_per_epoch\":1}\n"
                + "{\"event\":\"epoch\",\"epoch\":1,\"train_loss\":0.1}\n{\"event\":\"done\",\"test_acc\":0.9}\n");
        slurm.set("100", "kiln-7", "COMPLETED", "None");
        Outcome o = outcome(run, executor);
        assertTrue(o.succeeded(), o.toString());
        assertTrue(heard.calls.contains("points 0+1"), heard.calls.toString());
    }

    @Test
    void aBatchJobWhoseIdCannotBeStoredIsCancelled() throws Exception {
        Heard heard = new Heard();
        heard.refuseId = true;
        assertThrows(IllegalStateException.class, () -> executor.start(launch(), heard));
        assertEquals(List.of("submit 100", "cancel 100"), slurm.calls, "never released");
    }

    @Test
    void aHeldBatchJobThatTheStoreDoesNotNameIsFoundByNameReleasedAndFollowed() throws Exception {
        // A service killed between sbatch and storing the id left this held job, and an older one behind.
        slurm.set("55", "kiln-7", "PENDING", "JobHeldUser");
        slurm.set("54", "kiln-7", "PENDING", "JobHeldUser");
        slurm.set("40", "kiln-7", "COMPLETED", "None");
        slurm.set("41", "kiln-70", "RUNNING", "None");
        Heard heard = new Heard();
        Run run = executor.recover(job(null), heard).orElseThrow();
        assertEquals(List.of("named kiln-7", "cancel 54", "release 55"), slurm.calls, "the newest live one, taken back");
        assertTrue(heard.calls.contains("submitted 55"), "its id is stored now: " + heard.calls);
        assertTrue(jobLog.isEmpty() && heard.calls.stream().anyMatch(s -> s.startsWith("log kiln: taking back SLURM batch job 55")),
                heard.calls.toString());
        assertEquals("slurm:batch", run.placement());
        assertEquals(List.of("55"), executor.followed());
    }

    @Test
    void withoutALiveBatchJobThereIsNothingToTakeBack() throws Exception {
        slurm.set("40", "kiln-7", "COMPLETED", "None");
        assertTrue(executor.recover(job(null), new Heard()).isEmpty(), "an ended one named for the job was handled");
        assertEquals(List.of("named kiln-7"), slurm.calls);
    }

    @Test
    void aBatchJobTheStoreNamesIsTakenBackEvenWhenItEndedMeanwhile() throws Exception {
        slurm.set("60", "kiln-7", "TIMEOUT", "TimeLimit");
        Run run = executor.recover(job("60"), new Heard()).orElseThrow();
        Outcome o = outcome(run, executor);
        assertEquals(Outcome.Ending.STOPPED_BY_SYSTEM, o.ending());
        assertEquals("SLURM stopped batch job 60 at its time limit (--time=30 minutes, from kiln.max-job-duration PT30M)",
                o.reason());
        assertEquals(128 + 15, o.exitCode(), "killed by SIGTERM");
    }

    @Test
    void slurmsEndsAreKilnsOutcomes() throws Exception {
        assertEnds("CANCELLED", false, Outcome.Ending.CANCELLED_OUTSIDE, "cancelled in SLURM (scancel 61), not through Kiln");
        assertEnds("CANCELLED", true, Outcome.Ending.EXITED, null);
        assertEnds("NODE_FAIL", false, Outcome.Ending.LOST, "SLURM lost batch job 61 (NODE_FAIL)");
        assertEnds("PREEMPTED", false, Outcome.Ending.LOST, "SLURM lost batch job 61 (PREEMPTED)");
        assertEnds("OUT_OF_MEMORY", false, Outcome.Ending.STOPPED_BY_SYSTEM, "SLURM stopped batch job 61: it used more "
                + "memory than its --mem (kiln.worker-heap 1g plus kiln.slurm.memory-overhead 512m)");
        assertEnds("FAILED", false, Outcome.Ending.EXITED, null);
    }

    private void assertEnds(String state, boolean stoppedByKiln, Outcome.Ending ending, String reason) throws Exception {
        slurm.set("61", "kiln-7", "RUNNING", "None");
        Run run = executor.recover(job("61"), new Heard()).orElseThrow();
        if (stoppedByKiln) {
            executor.stop(run, "cancel requested");
        }
        slurm.set("61", "kiln-7", state, "None");
        Outcome o = outcome(run, executor);
        assertEquals(ending, o.ending(), state);
        assertEquals(reason, o.reason(), state);
        assertFalse(o.succeeded(), state);
    }

    @Test
    void aJobSlurmRequeuesWaitsAgainAndRunsAgain() throws Exception {
        slurm.set("64", "kiln-7", "RUNNING", "None");
        Heard heard = new Heard();
        Run run = executor.recover(job("64"), heard).orElseThrow();
        awaitHeard(heard, "running slurm:node1");
        slurm.set("64", "kiln-7", "PENDING", "BeginTime");
        awaitHeard(heard, "waiting BeginTime");
        slurm.set("64", "kiln-7", "RUNNING", "None");
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (heard.calls.stream().filter(s -> s.equals("running slurm:node1")).count() < 2 && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        assertEquals(2, heard.calls.stream().filter(s -> s.equals("running slurm:node1")).count(),
                "started again after the requeue, on the same node: " + heard.calls);
        slurm.set("64", "kiln-7", "COMPLETED", "None");
        outcome(run, executor);
    }

    /**
     * A pending job whose reason says no node can ever give what it asks for is cancelled and fails saying so; a job
     * waiting for Resources (busy nodes) goes on waiting.
     */
    @Test
    void aBatchJobSlurmCannotPlaceIsCancelledAndFailsSayingWhy() throws Exception {
        Heard heard = new Heard();
        Run run = executor.start(launch(), heard);
        slurm.set("100", "kiln-7", "PENDING", "Resources");
        awaitHeard(heard, "waiting Resources");
        assertFalse(slurm.calls.contains("cancel 100"), "waiting for busy nodes is waiting: " + slurm.calls);
        slurm.set("100", "kiln-7", "PENDING", "BadConstraints");
        Outcome o = outcome(run, executor);
        assertEquals(Outcome.Ending.STOPPED_BY_SYSTEM, o.ending());
        assertTrue(o.reason().startsWith("SLURM cannot place batch job 100 in partition batch: BadConstraints (what it "
                + "asks for, in the job's log: --mem"), o.reason());
        assertTrue(o.reason().endsWith("lower training.batchSize or use a smaller model, or change kiln.slurm's "
                + "partition or requests"), o.reason());
        assertTrue(slurm.calls.contains("cancel 100"), "not left in SLURM's queue: " + slurm.calls);
        assertFalse(o.succeeded());
    }

    @Test
    void aBatchJobSlurmForgotEndsAsItsOutputSays() throws Exception {
        slurm.set("62", "kiln-7", "RUNNING", "None");
        Run run = executor.recover(job("62"), new Heard()).orElseThrow();
        Files.writeString(home.resolve("jobs/7/events.jsonl"), "{\"event\":\"done\",\"test_acc\":0.9}\n");
        slurm.forget("62");
        assertTrue(outcome(run, executor).succeeded(), "its events end with done");

        slurm.set("63", "kiln-7", "RUNNING", "None");
        Files.writeString(home.resolve("jobs/7/events.jsonl"), "");
        Run cut = executor.recover(job("63"), new Heard()).orElseThrow();
        slurm.forget("63");
        Outcome o = outcome(cut, executor);
        assertEquals(Outcome.Ending.STOPPED_BY_SYSTEM, o.ending());
        assertTrue(o.reason().startsWith("SLURM no longer knows batch job 63"), o.reason());
    }

    @Test
    void nothingIsSubmittedWhileSlurmDoesNotAnswerNorBeyondTheLimit() throws Exception {
        assertEquals(3, executor.vacancies().size(), "kiln.slurm.max-submitted");
        executor.start(launch(), new Heard());
        assertEquals(2, executor.vacancies().size());
        slurm.down = true;
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!executor.vacancies().isEmpty() && System.nanoTime() < end) {
            Thread.sleep(50);
        }
        assertEquals(List.of(), executor.vacancies(), "no submission while squeue fails");
        slurm.down = false;
        while (executor.vacancies().isEmpty() && System.nanoTime() < end) {
            Thread.sleep(50);
        }
        assertEquals(2, executor.vacancies().size(), "again once it answers");
    }

    @Test
    void devicesAreThePartitionsNodesWithTheirGpus() {
        JsonNode nodes = executor.devices();
        assertEquals(1, nodes.size());
        JsonNode n = nodes.get(0);
        assertEquals("node1", n.get("name").asText());
        assertEquals("batch", n.get("partition").asText(), "SLURM's default partition");
        assertEquals(2, n.get("gpus").asInt());
        assertEquals(1, n.get("gpusAllocated").asInt());
        assertEquals(8, n.get("cpus").asInt());
        assertEquals(64_000L << 20, n.get("memoryTotalBytes").asLong());
        assertTrue(executor.refusal("cuda:1").orElseThrow().contains("SLURM chooses the GPU"));
        assertTrue(executor.refusal("cuda").isEmpty(), "the partition has GPUs");
    }

    private static void awaitHeard(Heard heard, String what) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!heard.calls.contains(what) && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        assertTrue(heard.calls.contains(what), "heard " + what + ": " + heard.calls);
    }
}
