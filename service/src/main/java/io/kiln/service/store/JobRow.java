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
 * it resumed after; {@code deviceSeconds} adds up the running time of the attempts that ended.
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
        int attemptStartEpoch) {
}
