package io.kiln.service.store;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.annotation.Query;
import io.micronaut.data.jdbc.annotation.JdbcRepository;
import io.micronaut.data.model.query.builder.sql.Dialect;
import io.micronaut.data.repository.CrudRepository;
import java.time.Instant;
import java.util.List;

@JdbcRepository(dialect = Dialect.ANSI)
public interface JobRepository extends CrudRepository<JobRow, Long> {

    List<JobRow> findByStateOrderBySubmittedAt(String state);

    List<JobRow> findByStateAndServerId(String state, String serverId);

    long countByUserNameAndState(String userName, String state);

    long countByState(String state);

    /** Claimed jobs whose batch job the batch system still holds back (they show as queued). */
    long countByStateAndWaitingReasonIsNotNull(String state);

    List<JobRow> findBySweepIdOrderById(Long sweepId);

    List<JobRow> findBySweepIdInOrderById(java.util.Collection<Long> sweepIds);

    List<JobRow> findByIdIn(java.util.Collection<Long> ids);

    /** Cancels a job that is still queued; returns the rows changed (0 or 1). */
    @Query("UPDATE jobs SET state = 'CANCELLED', finished_at = :now WHERE id = :id AND state = 'QUEUED'")
    long cancelQueued(long id, Instant now);

    @Query("UPDATE jobs SET shared = :shared WHERE id = :id")
    void updateShared(long id, boolean shared);


    @Query("""
            UPDATE jobs SET epoch = :epoch, epochs = :epochs, step = :step, steps = :steps,
              latest_metrics = :latestMetrics, heartbeat_at = :now WHERE id = :id""")
    void updateProgress(long id, int epoch, int epochs, int step, int steps, @Nullable String latestMetrics, Instant now);

    @Query("UPDATE jobs SET checkpoint_epoch = :epoch WHERE id = :id")
    void updateCheckpointEpoch(long id, int epoch);

    /**
     * Where the starting attempt resumes, from the checkpoint file: the claim copied the stored checkpoint epoch,
     * which lags the file when the server stopped before it read the worker's last checkpoint event.
     */
    @Query("UPDATE jobs SET checkpoint_epoch = :epoch, attempt_start_epoch = :epoch WHERE id = :id")
    void updateResumePoint(long id, int epoch);

    @Query("UPDATE jobs SET heartbeat_at = :now WHERE server_id = :serverId AND state = 'RUNNING'")
    void heartbeat(String serverId, Instant now);

    @Query("UPDATE jobs SET cancel_requested = TRUE WHERE id = :id")
    void requestCancel(long id);

    /** The run became batch job {@code batchJob} (stored before the batch system may start it). */
    @Query("UPDATE jobs SET batch_job = :batchJob, attempt_started_at = NULL WHERE id = :id AND state = 'RUNNING'")
    long updateBatchJob(long id, String batchJob);

    /** The batch system holds the run back, for this reason. */
    @Query("UPDATE jobs SET waiting_reason = :reason WHERE id = :id AND state = 'RUNNING'")
    void updateWaiting(long id, String reason);

    /** The batch system started the run on {@code device} (a node). */
    @Query("""
            UPDATE jobs SET waiting_reason = NULL, device = :device, started_at = COALESCE(started_at, :now),
              attempt_started_at = :now WHERE id = :id AND state = 'RUNNING'""")
    void updateRunningOn(long id, String device, Instant now);

    @Query("""
            UPDATE jobs SET state = :state, error = :error, finished_at = :now, server_id = NULL,
              batch_job = NULL, waiting_reason = NULL,
              device_seconds = device_seconds + :seconds WHERE id = :id AND state = 'RUNNING'""")
    long finish(long id, String state, @Nullable String error, Instant now, double seconds);

    /** Back to the queue (resumed from its checkpoint when it runs again). */
    @Query("""
            UPDATE jobs SET state = 'QUEUED', server_id = NULL, device = NULL, error = :reason,
              batch_job = NULL, waiting_reason = NULL, device_seconds = device_seconds + :seconds
            WHERE id = :id AND state = 'RUNNING'""")
    long requeue(long id, String reason, double seconds);

    @Query("SELECT * FROM jobs WHERE state = 'RUNNING' AND heartbeat_at < :before")
    List<JobRow> findStale(Instant before);

    @Query("SELECT * FROM jobs WHERE state = 'RUNNING' AND cancel_requested = TRUE AND server_id = :serverId")
    List<JobRow> findCancelRequested(String serverId);
}
