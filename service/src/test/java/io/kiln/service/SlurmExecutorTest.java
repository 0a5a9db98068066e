package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.engine.data.SyntheticData;
import io.kiln.service.store.JobClaims;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code kiln.executor: slurm} against a real single-node SLURM cluster (.ci/setup-slurm.sh: the machine's CPUs, two placeholder
 * "GPUs" as GRES), over Kiln's REST API, with CPU jobs on tiny synthetic data. To exercise GPU scheduling where the
 * jobs train on the CPU, the service is set to ask every CPU job for a GPU too ({@code kiln.slurm.cpu-gres=gpu:1},
 * a setting a GPU-only partition needs anyway), one CPU each: two jobs run at once, a third waits for a GPU.
 *
 * <p>One service (a process of its own, killable with SIGKILL) serves the tests in order, so that SLURM's time limit,
 * which it enforces in minutes, costs the run one minute instead of one per test: the job that runs into it is
 * submitted first and runs beside the others (holding one of the two GPUs), across the service's crash in the first
 * test (or, on a loaded machine, to its end while the service is down: its check allows both), and is checked last.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(300)
class SlurmExecutorTest {
    /** Batch jobs are named PREFIX-ID; a prefix of this run's own keeps them apart from any other's. */
    static final String PREFIX = "kilntest" + Integer.toHexString(new Random().nextInt(1 << 20));
    /**
     * Epochs of the two jobs that must be seen running side by side: about 10 s each. With 100 (about 2 s, the
     * rest of a 3-4 s batch job being the JVM's start) SLURM's scheduler started the second 3 s after the first,
     * and the two overlapped for 0.3 s, too short for a poll every 200 ms to see.
     */
    static final int OVERLAP_EPOCHS = 500;
    static final int TINY_EPOCHS = 100;

    @TempDir
    static Path home;
    ServiceProcess kiln;
    String node;
    /** The job that runs into SLURM's time limit (kiln.max-job-duration 1m is its --time=1). */
    String limited;

    @BeforeAll
    void startServiceAndTheLongJob() throws Exception {
        String missing = TestSlurm.unavailable();
        assumeTrue(missing == null, missing);
        TestData.write(home.resolve("data"), "tiny", 600, 200, 4);
        SyntheticData.writeIdx(home.resolve("data"), "wide", 2000, 200, 4, 8, 11);
        kiln = start();
        // Priority 5 goes to SLURM as --nice (kiln.slurm.nice-base 100 minus 5).
        KilnServer.Answer a = kiln.post("/api/v1/jobs?priority=5", endless("time-limited"));
        assertEquals(201, a.status(), a.body());
        limited = a.json().get("id").asText();
        JsonNode running = kiln.await(limited, KilnServer.runningWithEpoch(1));
        node = running.get("device").asText().replaceFirst("^slurm:", "");
        assertTrue(TestSlurm.show(batchJob(running)).contains(" Nice=95 "), "priority 5 as --nice=95");
    }

    /**
     * A job that trains until it is stopped, at a pace whose events the service reads as they come on a loaded
     * machine (a few steps per epoch; the tiny set's thousands of steps a second would not be).
     */
    static String endless(String name) {
        return """
                {"name":"%s","data":{"name":"wide","validationSplit":0.1},
                 "model":{"layers":[{"type":"flatten"},{"type":"dense","units":256},{"type":"relu"},{"type":"dense","units":4}]},
                 "optimizer":{"type":"sgd","lr":0.01},"training":{"epochs":10000,"batchSize":500,"seed":2},"device":"cpu"}"""
                .formatted(name);
    }

    ServiceProcess start() throws Exception {
        return ServiceProcess.start(Map.of("KILN_HOME", home.toString(), "KILN_DATA_ROOT", home.resolve("data").toString()),
                List.of("-Dkiln.executor=slurm", "-Dkiln.server-id=slurm-test", "-Dkiln.slurm.partition=" + TestSlurm.PARTITION,
                        "-Dkiln.slurm.cpus-per-job=1", "-Dkiln.slurm.cpu-gres=gpu:1", "-Dkiln.slurm.memory-overhead=256m",
                        "-Dkiln.slurm.nice-base=100", "-Dkiln.slurm.job-name-prefix=" + PREFIX,
                        "-Dkiln.slurm.poll-interval=500ms", "-Dkiln.slurm.read-interval=250ms", "-Dkiln.max-job-duration=1m"),
                home, home.resolve("service.log"));
    }

    @AfterAll
    void stop() throws Exception {
        if (kiln != null) {
            kiln.close();
        }
        TestSlurm.cancelAll(PREFIX + "-");
    }

    /**
     * Submits a job whose batch job is then given 10 minutes instead of the service's one, which is for the last test
     * alone: on a loaded machine (a load of 9 on two cores has been seen) a test's job can take over a minute to reach
     * the point it waits for, and SLURM would stop it there. Lifted as soon as the batch job exists, queued or running.
     */
    String submitWithoutTheTimeLimit(String spec) throws Exception {
        String id = kiln.submit(spec);
        String batch = batchJob(kiln.await(id, j -> j.has("batchJob")));
        TestSlurm.run("scontrol", "update", "JobId=" + batch, "TimeLimit=10");
        return id;
    }

    /**
     * SIGKILL, then a new service on the same store: the batch job goes on meanwhile and is taken back running. (Its
     * time limit lifted, a slow restart on a loaded machine cannot turn this into a job that ended while the service
     * was down.)
     */
    @Test
    @Order(1)
    void aServiceKilledAndRestartedTakesItsRunningBatchJobsBackSubmittingNoneTwice() throws Exception {
        String id = submitWithoutTheTimeLimit(endless("through-a-crash"));
        JsonNode before = kiln.await(id, KilnServer.runningWithEpoch(3));
        String batch = batchJob(before);
        kiln.kill();
        int epochAtKill = lastEpochWritten(id);
        kiln = start();

        JsonNode after = kiln.await(id, KilnServer.runningWithEpoch(epochAtKill + 4));
        assertEquals("RUNNING", TestSlurm.state(batch), "the batch job ran on across the crash");
        assertEquals(batch, batchJob(after), "the same batch job, taken back");
        assertEquals(1, after.get("attempts").asInt(), "taken back, not run again: " + after);
        assertEquals(List.of(batch + "|RUNNING|" + PREFIX + "-" + id), TestSlurm.named(PREFIX + "-" + id).stream()
                .map(String::strip).toList(), "one batch job");

        assertEquals(200, kiln.post("/api/v1/jobs/" + id + "/cancel", null).status());
        JsonNode cancelled = kiln.awaitState(id, "CANCELLED");
        assertEquals("CANCELLED", TestSlurm.state(batch), "the cancel reached scancel");
        String log = kiln.get("/api/v1/jobs/" + id + "/log").body();
        List<String> kilnLines = log.lines().filter(l -> l.startsWith("kiln:")).toList();
        assertEquals(1, kilnLines.stream().filter(l -> l.startsWith("kiln: submitted to SLURM as batch job")).count(),
                kilnLines.toString());
        assertEquals(1, kilnLines.stream().filter(l -> l.startsWith("kiln: taking back SLURM batch job " + batch)).count(),
                kilnLines.toString());
        assertEquals(1, ResumeChecks.events(home.resolve("jobs").resolve(id)).stream()
                .filter(e -> e.path("event").asText().equals("start")).count(), "the engine ran once");
        JsonNode metrics = kiln.get("/api/v1/jobs/" + id + "/metrics").json();
        ResumeChecks.assertEpochsOnceEach(metrics, lastEpochWritten(id), cancelled.path("progress").path("steps").asInt());
        assertStoredAsWritten(id, metrics);
        assertEquals(1, log.lines().filter(l -> l.startsWith("epoch 1: ")).count(), "the log is not copied twice");
    }

    /**
     * A preemption or a failed node with requeue, as an operator's {@code scontrol requeue}: the job shows as queued
     * with SLURM's reason while SLURM holds it back (its start then brought forward: SLURM would wait a couple of
     * minutes), and SLURM runs the same batch job again, which resumes after the checkpoint of the first run; the
     * steps it reports a second time are stored once.
     */
    @Test
    @Order(2)
    void aJobSlurmRequeuesWaitsQueuedThenRunsAgainFromItsCheckpointKeepingEachPointOnce() throws Exception {
        String id = submitWithoutTheTimeLimit(endless("requeued"));
        String batch = batchJob(kiln.await(id, KilnServer.runningWithEpoch(3)));
        long requeuedAt = System.nanoTime();
        TestSlurm.requeue(batch);
        // SLURM's reason for holding a requeued job back
        JsonNode waiting = kiln.await(id, j -> j.path("state").asText().equals("QUEUED")
                && j.path("reason").asText().contains("BeginTime"));
        assertEquals(batch, batchJob(waiting), "the same batch job waits");
        // slurmd refuses a credential issued in the same second as the requeue revoked the job's last one ("Job
        // credential revoked": the restarted batch job dies at once), which is what SLURM's own begin-time delay
        // avoids; the test shortens that delay, so not below the credentials' one-second resolution.
        long settle = requeuedAt + Duration.ofMillis(2500).toNanos() - System.nanoTime();
        if (settle > 0) {
            Thread.sleep(settle / 1_000_000);
        }
        TestSlurm.run("scontrol", "update", "JobId=" + batch, "StartTime=now");

        Path dir = home.resolve("jobs").resolve(id);
        long end = System.nanoTime() + ServiceProcess.TIMEOUT.toNanos();
        List<Integer> starts = List.of();
        while (System.nanoTime() < end && starts.size() < 2) {
            Thread.sleep(200);
            starts = ResumeChecks.events(dir).stream().filter(e -> e.path("event").asText().equals("start"))
                    .map(e -> e.path("start_epoch").asInt()).toList();
        }
        assertEquals(2, starts.size(), "the engine ran again: " + starts);
        assertTrue(starts.get(1) > 1, "the second run resumed after a checkpoint: " + starts);
        int resumedAt = starts.get(1);
        kiln.await(id, KilnServer.runningWithEpoch(resumedAt + 3));
        assertEquals(200, kiln.post("/api/v1/jobs/" + id + "/cancel", null).status());
        JsonNode cancelled = kiln.awaitState(id, "CANCELLED");

        assertEquals(1, cancelled.get("attempts").asInt(), "one Kiln run: SLURM ran the batch job again " + cancelled);
        assertEquals(1, TestSlurm.named(PREFIX + "-" + id).size(), "one batch job");
        String log = kiln.get("/api/v1/jobs/" + id + "/log").body();
        assertTrue(log.contains("resuming after epoch " + (resumedAt - 1)), "the engine says so in the log");
        JsonNode metrics = kiln.get("/api/v1/jobs/" + id + "/metrics").json();
        ResumeChecks.assertEpochsOnceEach(metrics, lastEpochWritten(id), cancelled.path("progress").path("steps").asInt());
        assertStoredAsWritten(id, metrics);
    }

    @Test
    @Order(3)
    void aJobCancelledInSlurmIsReportedCancelled() throws Exception {
        String id = submitWithoutTheTimeLimit(endless("cancelled-outside"));
        JsonNode running = kiln.await(id, KilnServer.runningWithEpoch(1));
        TestSlurm.cancel(batchJob(running));
        JsonNode cancelled = kiln.awaitState(id, "CANCELLED");
        assertTrue(cancelled.path("error").asText().contains("cancelled in SLURM"), cancelled.toString());
        assertTrue(cancelled.path("error").asText().contains("not through Kiln"), cancelled.toString());
    }

    @Test
    @Order(4)
    void twoJobsRunAsSlurmJobsToTheEndWhileAThirdWaitsForAGpuAndIsCancelledThere() throws Exception {
        String first = submitWithoutTheTimeLimit(TestData.spec("first", "tiny", OVERLAP_EPOCHS));
        String second = submitWithoutTheTimeLimit(TestData.spec("second", "tiny", OVERLAP_EPOCHS));
        String third = kiln.submit(TestData.spec("third", "tiny", TINY_EPOCHS));
        JsonNode running = kiln.await(first, j -> j.path("state").asText().equals("RUNNING"));
        // Two of the time-limited job (if it still runs), the first and the second hold both GPUs; the third waits
        // in SLURM, queued, with SLURM's reason: Resources, or Priority behind the second waiting for Resources.
        Waiting w = awaitWaiting(List.of(limited, first, second), List.of(second, third));
        assertEquals("QUEUED", w.jobs.get(third).get("state").asText(), w.jobs.get(third).toString());
        String firstInLine = w.jobs.get(second).has("reason") ? second : third;
        assertEquals("Resources", w.jobs.get(firstInLine).get("reason").asText(), "the first job waiting waits for a GPU: "
                + w.jobs.get(firstInLine));
        assertTrue(ids(kiln.get("/api/v1/jobs?state=QUEUED").json()).contains(third), "the waiting job is listed as queued");
        JsonNode n = w.node;
        assertEquals(node, n.get("name").asText());
        assertEquals("node", n.get("kind").asText());
        assertEquals(TestSlurm.PARTITION, n.get("partition").asText());
        assertEquals(2, n.get("gpus").asInt(), n.toString());

        String show = TestSlurm.show(batchJob(running));
        assertTrue(show.contains("TresPerNode=gres:gpu:1"), "each job asks for a GPU: " + show);
        assertTrue(show.contains(" JobName=" + PREFIX + "-" + first + " "), show);
        assertTrue(show.contains(" Nice=100 "), show);

        String thirdBatch = batchJob(w.jobs.get(third));
        assertEquals(200, kiln.post("/api/v1/jobs/" + third + "/cancel", null).status());
        JsonNode cancelled = kiln.awaitState(third, "CANCELLED");
        assertEquals("CANCELLED", TestSlurm.state(thirdBatch), "the cancel reached scancel");
        assertEquals(0, cancelled.path("progress").path("epoch").asInt(), "it never ran: " + cancelled);

        for (String id : List.of(first, second)) {
            JsonNode done = kiln.awaitState(id, "SUCCEEDED");
            assertEquals("slurm:" + node, done.get("device").asText());
            assertEquals(1, done.get("attempts").asInt());
            assertTrue(done.path("metrics").path("test_acc").asDouble() > 0.5, done.toString());
            assertEquals(OVERLAP_EPOCHS, done.path("progress").path("epoch").asInt());
            JsonNode metrics = kiln.get("/api/v1/jobs/" + id + "/metrics").json();
            ResumeChecks.assertEpochsOnceEach(metrics, OVERLAP_EPOCHS, done.path("progress").path("steps").asInt());
            assertStoredAsWritten(id, metrics);
            assertTrue(kiln.get("/api/v1/jobs/" + id + "/log").body().contains("kiln: submitted to SLURM as batch job "));
        }
    }

    /** The jobs and the partition's node at a moment when both GPUs are taken and a job waits with SLURM's reason. */
    record Waiting(Map<String, JsonNode> jobs, JsonNode node) {
    }

    /**
     * Waits for a moment when the node shows both GPUs allocated, to exactly the jobs among {@code mayRun} that Kiln
     * shows running, the last of {@code mayWait} is queued, and every queued one has SLURM's own reason (asked again
     * until one answer holds it all: the time-limited job may end in between, and a job shows Kiln's "being
     * submitted" until sbatch has answered, or "not yet scheduled" until SLURM's scheduler has looked at it).
     */
    Waiting awaitWaiting(List<String> mayRun, List<String> mayWait) throws Exception {
        long end = System.nanoTime() + ServiceProcess.TIMEOUT.toNanos();
        String last = "";
        while (System.nanoTime() < end) {
            Map<String, JsonNode> jobs = new HashMap<>();
            for (String id : new LinkedHashSet<>(Stream.concat(mayRun.stream(), mayWait.stream()).toList())) {
                jobs.put(id, kiln.get("/api/v1/jobs/" + id).json());
            }
            JsonNode n = kiln.get("/api/v1/devices").json().get(0);
            Set<String> runningNow = new HashSet<>();
            jobs.forEach((id, j) -> {
                if (j.path("state").asText().equals("RUNNING")) {
                    runningNow.add(id);
                }
            });
            JsonNode lastWaiting = jobs.get(mayWait.get(mayWait.size() - 1));
            boolean slurmsReasons = mayWait.stream().map(jobs::get)
                    .filter(j -> j.path("state").asText().equals("QUEUED")).allMatch(SlurmExecutorTest::slurmsReason);
            if (n.path("gpusAllocated").asInt() == 2 && runningNow.size() == 2
                    && Set.copyOf(ids(n.get("jobs"))).equals(runningNow)
                    && lastWaiting.path("state").asText().equals("QUEUED") && slurmsReasons) {
                return new Waiting(jobs, n);
            }
            last = "running " + runningNow + ", node " + n + ", waiting " + lastWaiting;
            Thread.sleep(200);
        }
        throw new AssertionError("never both GPUs taken and a job waiting: " + last);
    }

    /** Whether a queued job's reason is SLURM's (Resources, Priority, ...), not Kiln's while it waits for sbatch or SLURM. */
    static boolean slurmsReason(JsonNode job) {
        String reason = job.path("reason").asText("");
        return !reason.isEmpty() && !reason.equals(JobClaims.SUBMITTING) && !reason.equals("not yet scheduled");
    }

    @Test
    @Order(5)
    void aJobPastItsTimeLimitIsStoppedBySlurmAndFailsSayingSo() throws Exception {
        JsonNode failed = kiln.await(limited, j -> j.path("state").asText().matches("SUCCEEDED|FAILED|CANCELLED"));
        assertEquals("FAILED", failed.get("state").asText(), failed.toString());
        String error = failed.get("error").asText();
        assertTrue(error.startsWith("SLURM stopped batch job ") && error.contains("at its time limit (--time=1 minutes"),
                error);
        String log = kiln.get("/api/v1/jobs/" + limited + "/log").body();
        assertTrue(log.contains("DUE TO TIME LIMIT"), "SLURM's own word in the log: "
                + log.lines().filter(l -> l.contains("slurm") || l.startsWith("kiln")).toList());
        assertFalse(failed.has("batchJob"), "its end is handled: " + failed);
        assertEquals(1, failed.get("attempts").asInt(), "taken back across the crash, not run again: " + failed);
        assertEquals(1, TestSlurm.named(PREFIX + "-" + limited).size(), "one batch job");
        // It ran on across the service's crash: what it wrote before, during and after is stored once.
        assertStoredAsWritten(limited, kiln.get("/api/v1/jobs/" + limited + "/metrics").json());
    }

    /**
     * No check of this machine's memory for a job that SLURM places on its nodes (the local executor refuses this one
     * for its worker heap, {@code MemoryCheckTest}): it is accepted and handed to sbatch with its estimate as --mem.
     * No node has that (4 GiB here): sbatch takes the held job all the same and SLURM would keep it pending for ever
     * (BadConstraints), so Kiln cancels it and the job fails saying why.
     */
    @Test
    @Order(6)
    void aJobNoNodeCanHoldIsLeftToSlurmAndFailsWhenSlurmCannotPlaceIt() throws Exception {
        KilnServer.Answer a = kiln.post("/api/v1/jobs", TestData.tooLargeForHere("for-slurm-to-place"));
        assertEquals(201, a.status(), "not refused for this machine's memory: " + a.body());
        String id = a.json().get("id").asText();
        JsonNode failed = kiln.awaitState(id, "FAILED");
        String error = failed.path("error").asText();
        assertTrue(error.startsWith("SLURM cannot place batch job ") && error.contains(": BadConstraints ("), error);
        String batch = kiln.get("/api/v1/jobs/" + id + "/log").body().lines()
                .filter(l -> l.startsWith("kiln: submitted to SLURM as batch job ")).findFirst().orElseThrow();
        assertTrue(batch.matches(".*--mem=[0-9]{5,}M.*"), "its estimate as --mem, over 10 GB: " + batch);
        assertEquals("CANCELLED", TestSlurm.state(batch.replaceFirst("kiln: submitted to SLURM as batch job ([0-9]+).*", "$1")),
                "not left in SLURM's queue");
    }

    /**
     * The store's points are exactly those in the job's events file: none lost, none twice, the same values. (A run
     * that SLURM requeued reports the steps after its checkpoint again, with the same values: each counts once.)
     */
    void assertStoredAsWritten(String id, JsonNode metrics) {
        List<JsonNode> events = ResumeChecks.events(home.resolve("jobs").resolve(id));
        int stepsPerEpoch = events.stream().filter(e -> e.path("event").asText().equals("start")).findFirst()
                .orElseThrow().path("steps_per_epoch").asInt();
        TreeMap<Long, Double> written = new TreeMap<>();
        TreeSet<Integer> writtenEpochs = new TreeSet<>();
        for (JsonNode e : events) {
            switch (e.path("event").asText()) {
                case "step" -> written.put((e.get("epoch").asLong() - 1) * stepsPerEpoch + e.get("step").asLong(),
                        e.get("loss").asDouble());
                case "epoch" -> writtenEpochs.add(e.get("epoch").asInt());
                default -> {
                }
            }
        }
        TreeMap<Long, Double> stored = new TreeMap<>();
        Set<Long> seen = new HashSet<>();
        for (JsonNode s : metrics.get("steps")) {
            assertTrue(seen.add(s.get("globalStep").asLong()), "step stored twice: " + s);
            stored.put(s.get("globalStep").asLong(), s.get("loss").asDouble());
        }
        assertEquals(written.keySet(), stored.keySet(), "job " + id + ": the steps in its events file, and no others");
        written.forEach((k, v) -> assertEquals(v, stored.get(k), 1e-9, "loss at step " + k));
        List<Integer> storedEpochs = new ArrayList<>();
        metrics.get("epochs").forEach(e -> storedEpochs.add(e.get("epoch").asInt()));
        assertEquals(new ArrayList<>(writtenEpochs), storedEpochs, "job " + id + ": the epochs in its events file, once each");
    }

    /** The last epoch the job's events file reports as done (over all its runs). */
    int lastEpochWritten(String id) {
        return ResumeChecks.events(home.resolve("jobs").resolve(id)).stream().filter(e -> e.path("event").asText().equals("epoch"))
                .mapToInt(e -> e.get("epoch").asInt()).max().orElse(0);
    }

    static String batchJob(JsonNode job) {
        JsonNode b = job.get("batchJob");
        assertNotNull(b, "the job names its batch job: " + job);
        return b.asText();
    }

    static List<String> ids(JsonNode listOrPage) {
        JsonNode list = listOrPage.has("jobs") ? listOrPage.get("jobs") : listOrPage;
        List<String> out = new ArrayList<>();
        list.forEach(j -> out.add(j.isTextual() ? j.asText() : j.get("id").asText()));
        return out;
    }
}
