package io.kiln.service.scheduler;

import io.kiln.service.config.KilnConfig;
import io.kiln.service.executor.Placement;
import io.kiln.service.jobs.JobHistory;
import io.kiln.service.jobs.JobLog;
import io.kiln.service.store.JobRepository;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.JobState;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.util.Locale;

/**
 * The scheduler's changes of a job's state, each written to the store, to the job's history and, where the
 * job's owner reads it, to its log. Store updates are conditional on the job still running, so that two
 * servers (or a server and a cancel) never both end the same run.
 */
@Singleton
class JobTransitions {
    /** Why a job goes back to the queue when its server stops. */
    static final String SERVER_STOPPED = "the server stopped while it ran";

    private final JobRepository jobs;
    private final JobHistory history;
    private final JobLog log;
    private final KilnConfig config;

    JobTransitions(JobRepository jobs, JobHistory history, JobLog log, KilnConfig config) {
        this.jobs = jobs;
        this.history = history;
        this.log = log;
        this.config = config;
    }

    /** The job's run ended for good: the state, the history and the log, all or none. */
    @Transactional
    void finish(long id, JobState state, @Nullable String error, double seconds) {
        jobs.finish(id, state.name(), error, Instant.now(), seconds);
        history.record(id, state, error);
        log.append(id, "kiln: " + state.name().toLowerCase(Locale.ROOT) + (error == null ? "" : ": " + error) + "\n");
    }

    /**
     * A run was lost (its server restarted or went silent): back to the queue, to resume from its checkpoint,
     * unless it has had kiln.max-attempts runs already.
     */
    void requeueOrFail(JobRow j, String reason) {
        if (j.attempts() >= config.maxAttempts()) {
            String error = reason + "; gave up after " + j.attempts() + " attempts";
            if (jobs.finish(j.id(), JobState.FAILED.name(), error, Instant.now(), 0) == 1) {
                history.record(j.id(), JobState.FAILED, error);
            }
        } else if (jobs.requeue(j.id(), reason, 0) == 1) {
            history.record(j.id(), JobState.QUEUED, "back in the queue: " + reason
                    + (j.checkpointEpoch() > 0 ? "; it resumes after epoch " + j.checkpointEpoch() : ""));
        }
    }

    /** This server stops: the run goes back to the queue, to resume when a server runs it again. */
    void requeueAtShutdown(long id, double seconds) {
        jobs.requeue(id, SERVER_STOPPED, seconds);
    }

    /**
     * A claimed job starts (or its earlier run is taken back) on a placement; on a batch system's queue, it is
     * handed to it (and runs when the batch system starts it).
     */
    void running(JobRow job, Placement placement, String serverId) {
        String attempt = job.attempts() > 1 ? " (attempt " + job.attempts() + ")" : "";
        if (placement.batchQueue()) {
            history.record(job.id(), JobState.QUEUED, "handed to " + placement.name() + " by " + serverId + attempt);
        } else {
            history.record(job.id(), JobState.RUNNING, "started on " + placement.name() + " of " + serverId + attempt);
        }
    }
}
