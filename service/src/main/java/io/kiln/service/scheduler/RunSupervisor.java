package io.kiln.service.scheduler;

import io.kiln.service.config.KilnConfig;
import io.kiln.service.executor.JobExecutor;
import io.kiln.service.executor.Outcome;
import io.kiln.service.executor.Run;
import io.kiln.service.jobs.JobLog;
import io.kiln.service.store.JobRepository;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.JobState;
import io.kiln.service.store.StoreHealth;
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
    private final StoreHealth health;
    private final Map<Long, Supervised> runs = new ConcurrentHashMap<>();
    private volatile boolean stopping;

    /**
     * A run followed here. {@code stopReason} is why this server stopped it (a cancel, the time limit), set once:
     * it keeps a stop from being asked (and logged) again on every tick until the run has ended, and it is the
     * job's error if the run then fails. {@code ended} is how the run ended, kept until the job's end is in the
     * store (which may have to wait for the store).
     */
    private record Supervised(JobRow job, Run run, ProgressRecorder recorder, Instant started,
                              AtomicReference<String> stopReason, AtomicReference<Ended> ended) {
        boolean firstStop(String reason) {
            return stopReason.compareAndSet(null, reason);
        }
    }

    /** How a run ended: its outcome, or the error that lost it, and when this server saw it end. */
    private record Ended(Outcome outcome, Throwable error, Instant at) {
    }

    RunSupervisor(JobExecutor executor, JobRepository jobs, JobTransitions transitions, JobLog log, KilnConfig config,
                  StoreHealth health) {
        this.executor = executor;
        this.jobs = jobs;
        this.transitions = transitions;
        this.log = log;
        this.config = config;
        this.health = health;
    }

    /** Follows a run, whose output goes to {@code recorder}, to its end. */
    void follow(JobRow job, Run run, ProgressRecorder recorder) {
        Supervised s = new Supervised(job, run, recorder, Instant.now(), new AtomicReference<>(), new AtomicReference<>());
        runs.put(job.id(), s);
        executor.follow(run).whenComplete((outcome, error) -> ended(s, outcome, error));
    }

    /**
     * Writes what runs could not write while the store was down, and the ends of runs that could not be stored:
     * a job is marked ended only after all its points are in the store.
     */
    void catchUp() {
        for (Supervised s : runs.values()) {
            if (s.recorder().catchUp() && s.ended().get() != null) {
                end(s);
            }
        }
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
        if (limit == null || executor.traits().stopsAtTimeLimit()) {
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
        if (executor.traits().runsOutliveTheService()) {
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
            try {
                // Whichever of this and the run's end callback sends the job back first records its time: both
                // count the attempt up to the run's end, so its running time is never lost to the race.
                Ended e = s.ended().get();
                transitions.requeueAtShutdown(s.job().id(), seconds(s, s.job(), e != null ? e.at() : Instant.now()));
            } catch (RuntimeException e) {
                // The store is down: the next start of this server sends the job back to the queue.
                LOG.warn("job {}: cannot send it back to the queue at shutdown: {}", s.job().id(), e.toString());
            }
        }
    }

    private void ended(Supervised s, Outcome outcome, Throwable error) {
        Instant at = Instant.now();
        s.ended().set(new Ended(outcome, error, at));
        if (stopping) {
            runs.remove(s.job().id());
            if (!executor.traits().runsOutliveTheService()) {
                // The server is going down: the job resumes from its checkpoint when a server runs it again.
                transitions.requeueAtShutdown(s.job().id(), seconds(s, s.job(), at));
            }
            // A batch job's end seen during the shutdown is seen again by the restarted service.
            return;
        }
        if (s.recorder().catchUp()) {
            end(s);
        }
    }

    /** Stores the end of an ended run, unless the store cannot be written (the next tick tries again). */
    private void end(Supervised s) {
        long id = s.job().id();
        synchronized (s) {
            Ended e = s.ended().get();
            if (e == null || !runs.containsKey(id)) {
                return;
            }
            try {
                finish(s, e);
                runs.remove(id);
            } catch (RuntimeException ex) {
                if (!StoreHealth.isStoreFailure(ex)) {
                    runs.remove(id);
                    throw ex;
                }
                health.failed(ex);
            }
        }
    }

    private void finish(Supervised s, Ended e) {
        long id = s.job().id();
        JobRow now = jobs.findById(id).orElse(s.job());
        double seconds = seconds(s, now, e.at());
        if (e.error() != null) {
            LOG.error("job {}: lost track of its run", id, e.error());
            transitions.finish(id, JobState.FAILED, "the service lost track of the worker: " + e.error(), seconds);
            return;
        }
        Outcome outcome = e.outcome();
        if (now.cancelRequested()) {
            transitions.finish(id, JobState.CANCELLED, null, seconds);
        } else if (outcome.ending() == Outcome.Ending.CANCELLED_OUTSIDE) {
            transitions.finish(id, JobState.CANCELLED, outcome.reason(), seconds);
        } else if (outcome.ending() == Outcome.Ending.LOST) {
            transitions.requeueOrFail(now, outcome.reason());
        } else if (outcome.succeeded()) {
            transitions.finish(id, JobState.SUCCEEDED, null, seconds);
        } else {
            // A run this server stopped fails for that reason, not for the signal that stopped it.
            String stopped = s.stopReason().get();
            transitions.finish(id, JobState.FAILED, stopped != null ? stopped : failure(outcome, s.run().placement()),
                    seconds);
        }
    }

    /**
     * Device time of the run until {@code end}: from when its current attempt started running (the store's
     * attempt_started_at, which the claim sets and a batch system's start resets; none while it waited there),
     * else from when this server began to follow it.
     */
    private static double seconds(Supervised s, JobRow now, Instant end) {
        Instant from = now.attemptStartedAt() != null ? now.attemptStartedAt() : now.batchJob() != null ? end : s.started();
        return Math.max(0, Duration.between(from, end).toMillis() / 1000.0);
    }

    /**
     * Why a run failed, in words: the batch system's reason when it stopped the run, else {@link WorkerFailure}'s
     * account of the worker's end.
     */
    String failure(Outcome o, String placement) {
        if (o.ending() == Outcome.Ending.STOPPED_BY_SYSTEM && o.reason() != null) {
            return o.reason();
        }
        return WorkerFailure.describe(o, config.workerHeap(), placement);
    }
}
