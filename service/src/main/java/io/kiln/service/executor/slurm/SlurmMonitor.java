package io.kiln.service.executor.slurm;

import io.kiln.service.executor.Outcome;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows this server's batch jobs on one thread: every kiln.slurm.read-interval it reads what they wrote, and every
 * kiln.slurm.poll-interval it asks SLURM for the state of all of them in one call. A job SLURM shows as ended ends
 * its run once its output is read; a job SLURM no longer knows (it ended while the service was down, longer ago
 * than the controller keeps ended jobs) ends as the accounting database says, else as its output says.
 */
final class SlurmMonitor implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SlurmMonitor.class);

    private final Slurm slurm;
    private final SlurmSettings settings;
    /** Words for how SLURM ended a batch job, given its end. */
    private final Function<Ended, Outcome> outcomes;
    private final Map<String, SlurmRun> runs = new ConcurrentHashMap<>();
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(
            r -> Thread.ofPlatform().name("slurm-monitor").daemon().unstarted(r));
    private volatile Instant lastPoll = Instant.EPOCH;
    private volatile boolean pollSoon;
    private volatile boolean reachable = true;

    /**
     * A batch job's end as SLURM (or, without it, its output) tells it; {@code meaning} WAITING: a pending job this
     * monitor cancelled because SLURM's reason ({@code end}'s) says it can never be placed.
     */
    record Ended(SlurmRun run, BatchState meaning, Optional<Slurm.BatchEnd> end) {
    }

    SlurmMonitor(Slurm slurm, SlurmSettings settings, Function<Ended, Outcome> outcomes) {
        this.slurm = slurm;
        this.settings = settings;
        this.outcomes = outcomes;
    }

    void start() {
        long every = settings.readInterval().toMillis();
        thread.scheduleWithFixedDelay(this::cycle, every, every, TimeUnit.MILLISECONDS);
    }

    void add(SlurmRun run) {
        runs.put(run.batchJob(), run);
        pollSoon = true;
    }

    Collection<SlurmRun> runs() {
        return runs.values();
    }

    /** Whether the last call to SLURM went through (no new submissions while the controller does not answer). */
    boolean reachable() {
        return reachable;
    }

    /** Asks for SLURM's state at the next cycle rather than at the next poll interval (after a cancel, say). */
    void pollSoon() {
        pollSoon = true;
    }

    private void cycle() {
        try {
            Instant now = Instant.now();
            if (pollSoon || Duration.between(lastPoll, now).compareTo(settings.pollInterval()) >= 0) {
                pollSoon = false;
                lastPoll = now;
                poll(now);
            }
            for (SlurmRun r : List.copyOf(runs.values())) {
                if (r.ending()) {
                    if (r.tryEnd(now, settings.outputWait())) {
                        runs.remove(r.batchJob(), r);
                    }
                } else {
                    r.read();
                }
            }
        } catch (RuntimeException e) {
            LOG.error("following the batch jobs failed", e);
        }
    }

    private void poll(Instant now) {
        List<SlurmRun> followed = runs.values().stream().filter(r -> !r.ending()).toList();
        if (followed.isEmpty()) {
            return;
        }
        Map<String, Slurm.BatchJob> known;
        try {
            known = slurm.jobs(followed.stream().map(SlurmRun::batchJob).toList());
            if (!reachable) {
                LOG.info("SLURM answers again");
            }
            reachable = true;
        } catch (IOException e) {
            if (reachable) {
                LOG.warn("cannot ask SLURM for the state of {} batch jobs (trying again every {}): {}", followed.size(),
                        settings.pollInterval(), e.getMessage());
            }
            reachable = false;
            return;
        }
        for (SlurmRun r : followed) {
            Slurm.BatchJob b = known.get(r.batchJob());
            try {
                if (b == null) {
                    r.read();
                    r.endAs(outcomes.apply(new Ended(r, null, slurm.end(r.batchJob()))), now);
                    continue;
                }
                BatchState meaning = BatchState.of(b.state());
                r.observe(b, meaning);
                if (meaning == BatchState.WAITING && settings.unplaceableReasons().contains(b.reason())) {
                    // It would wait for ever: sbatch takes a held job without checking that it can be placed.
                    slurm.cancel(r.batchJob());
                    r.endAs(outcomes.apply(new Ended(r, meaning, Optional.of(new Slurm.BatchEnd(b.state(), b.reason(),
                            0, 0)))), now);
                } else if (meaning.ended()) {
                    r.endAs(outcomes.apply(new Ended(r, meaning, slurm.end(r.batchJob()))), now);
                }
            } catch (IOException e) {
                LOG.warn("job {}: cannot learn how batch job {} ended: {}", r.jobId(), r.batchJob(), e.getMessage());
            } catch (RuntimeException e) {
                LOG.error("job {}: cannot follow batch job {}", r.jobId(), r.batchJob(), e);
            }
        }
    }

    /** The service stops: the batch jobs go on, and the restarted service takes them back. */
    @Override
    public void close() {
        thread.shutdownNow();
    }
}
