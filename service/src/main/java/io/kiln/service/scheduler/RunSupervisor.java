package io.kiln.service.scheduler;

import io.kiln.service.config.KilnConfig;
import io.kiln.service.executor.JobExecutor;
import io.kiln.service.executor.Outcome;
import io.kiln.service.executor.Run;
import io.kiln.service.jobs.JobLog;
import io.kiln.service.store.JobRepository;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.JobState;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the runs of this server: stops a run whose job was cancelled or ran past kiln.max-job-duration, and
 * when a run ends, ends its job as the outcome says (succeeded, cancelled, or failed with the reason in words).
 */
@Singleton
class RunSupervisor {
    private static final Logger LOG = LoggerFactory.getLogger(RunSupervisor.class);
    /** How long the service's shutdown waits for a stopped run to end, beyond the cancel grace. */
    private static final Duration SHUTDOWN_SLACK = Duration.ofSeconds(15);

    private final JobExecutor executor;
    private final JobRepository jobs;
    private final JobTransitions transitions;
    private final JobLog log;
    private final KilnConfig config;
    private final Map<Long, Supervised> runs = new ConcurrentHashMap<>();
    private volatile boolean stopping;

    /**
     * A run followed here. {@code stopReason} is why this server stopped it (a cancel, the time limit), set once:
     * it keeps a stop from being asked (and logged) again on every tick until the run has ended, and it is the
     * job's error if the run then fails.
     */
    private record Supervised(JobRow job, Run run, Instant started, AtomicReference<String> stopReason) {
        boolean firstStop(String reason) {
            return stopReason.compareAndSet(null, reason);
        }
    }

    RunSupervisor(JobExecutor executor, JobRepository jobs, JobTransitions transitions, JobLog log, KilnConfig config) {
        this.executor = executor;
        this.jobs = jobs;
        this.transitions = transitions;
        this.log = log;
        this.config = config;
    }

    /** Follows a run to its end. */
    void follow(JobRow job, Run run) {
        Supervised s = new Supervised(job, run, Instant.now(), new AtomicReference<>());
        runs.put(job.id(), s);
        executor.follow(run).whenComplete((outcome, error) -> ended(s, outcome, error));
    }

    /** Acts on cancel requests for this server's runs, and on the time limit. */
    void tick(String serverId, Instant now) {
        for (JobRow j : jobs.findCancelRequested(serverId)) {
            Supervised s = runs.get(j.id());
            if (s != null && s.firstStop("cancelled")) {
                executor.stop(s.run(), "cancel requested");
            }
        }
        Duration limit = config.maxJobDuration();
        if (limit == null) {
            return;
        }
        for (Supervised s : runs.values()) {
            if (Duration.between(s.started(), now).compareTo(limit) > 0
                    && s.firstStop("stopped at the time limit of " + limit + " (kiln.max-job-duration)")) {
                log.append(s.job().id(), "kiln: time limit of " + limit + " reached, stopping the worker\n");
                executor.stop(s.run(), "time limit");
            }
        }
    }

    Set<Long> jobIds() {
        return Set.copyOf(runs.keySet());
    }

    Optional<Run> run(long jobId) {
        return Optional.ofNullable(runs.get(jobId)).map(Supervised::run);
    }

    /**
     * The service stops. Runs that outlive it are left to be recovered; the others are stopped and go back to
     * the queue, to resume from their checkpoints.
     */
    void stopAll() {
        stopping = true;
        if (executor.runsOutliveTheService()) {
            return;
        }
        for (Supervised s : runs.values()) {
            executor.stop(s.run(), "the server stops");
        }
        for (Supervised s : runs.values()) {
            try {
                executor.follow(s.run()).get(config.cancelGrace().plus(SHUTDOWN_SLACK).toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (ExecutionException | TimeoutException e) {
                LOG.warn("job {}: its run did not end on shutdown: {}", s.job().id(), e.toString());
            }
            transitions.requeueAtShutdown(s.job().id(), 0);
        }
    }

    private void ended(Supervised s, Outcome outcome, Throwable error) {
        long id = s.job().id();
        double seconds = Duration.between(s.started(), Instant.now()).toMillis() / 1000.0;
        runs.remove(id);
        if (stopping) {
            // The server is going down: the job resumes from its checkpoint when a server runs it again.
            transitions.requeueAtShutdown(id, seconds);
            return;
        }
        if (error != null) {
            LOG.error("job {}: lost track of its run", id, error);
            transitions.finish(id, JobState.FAILED, "the service lost track of the worker: " + error, seconds);
            return;
        }
        JobRow now = jobs.findById(id).orElse(s.job());
        if (now.cancelRequested()) {
            transitions.finish(id, JobState.CANCELLED, null, seconds);
        } else if (outcome.succeeded()) {
            transitions.finish(id, JobState.SUCCEEDED, null, seconds);
        } else {
            // A run this server stopped fails for that reason, not for the signal that stopped it.
            String stopped = s.stopReason().get();
            transitions.finish(id, JobState.FAILED, stopped != null ? stopped : failure(outcome), seconds);
        }
    }

    /** Why a run failed, in words: the engine's own message, else the exit code and the last lines it wrote. */
    String failure(Outcome o) {
        String heap = "kiln.worker-heap = " + config.workerHeap();
        String message = o.errorMessage();
        if (message != null) {
            return message.contains("OutOfMemoryError") ? message + " (the worker heap is " + heap + ")" : message;
        }
        int code = o.exitCode();
        String how = code > 128 ? "was killed by signal " + (code - 128) : "exited with code " + code;
        if (code == 3 && o.lastOutput().contains("OutOfMemoryError")) {
            how = "ran out of memory (" + heap + ")";
        }
        String tail = o.lastOutput();
        return "the worker " + how + (tail.isBlank() ? "" : "; its last output:\n" + tail);
    }
}
