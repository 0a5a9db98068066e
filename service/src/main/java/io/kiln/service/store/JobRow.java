package io.kiln.service.store;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.annotation.GeneratedValue;
import io.micronaut.data.annotation.Id;
import io.micronaut.data.annotation.MappedEntity;
import java.time.Instant;

/**
 * A job as stored. {@code epoch}/{@code step} are the progress the worker last reported,
 * {@code checkpointEpoch} the last epoch whose checkpoint is on disk (what a resumed run continues after);
 * {@code shared}: its owner shares its results with the lab (access.JobAccess). {@code startedAt} is the first
 * attempt's start, {@code attemptStartedAt} the current one's and {@code attemptStartEpoch} the checkpointed epoch
 * it resumed after; {@code deviceSeconds} adds up the running time of the attempts that ended. {@code batchJob}
 * is the batch job running the current run under a batch-system executor (SLURM), and {@code waitingReason} why
 * the batch system still holds that run back (the job then shows as queued; its attempt has not started).
 */
@MappedEntity("jobs")
public record JobRow(
        @Id @GeneratedValue @Nullable Long id,
        String name,
        String userName,
        String spec,
        String requestedDevice,
        int priority,
        String state,
        @Nullable String device,
        @Nullable String serverId,
        @Nullable Instant heartbeatAt,
        boolean cancelRequested,
        int attempts,
        int epoch,
        int epochs,
        int step,
        int steps,
        int checkpointEpoch,
        @Nullable String latestMetrics,
        @Nullable String error,
        @Nullable Long sweepId,
        Instant submittedAt,
        @Nullable Instant startedAt,
        @Nullable Instant finishedAt,
        double deviceSeconds,
        boolean shared,
        @Nullable Instant attemptStartedAt,
        int attemptStartEpoch,
        @Nullable String batchJob,
        @Nullable String waitingReason) {

    /** The state users see: a run that a batch system still holds back is queued there. */
    public String shownState() {
        return waitingReason != null && JobState.RUNNING.name().equals(state) ? JobState.QUEUED.name() : state;
    }
}
