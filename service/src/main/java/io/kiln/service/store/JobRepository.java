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

    List<JobRow> findBySweepIdOrderById(Long sweepId);

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

    @Query("UPDATE jobs SET heartbeat_at = :now WHERE server_id = :serverId AND state = 'RUNNING'")
    void heartbeat(String serverId, Instant now);

    @Query("UPDATE jobs SET cancel_requested = TRUE WHERE id = :id")
    void requestCancel(long id);

    @Query("""
            UPDATE jobs SET state = :state, error = :error, finished_at = :now, server_id = NULL,
              device_seconds = device_seconds + :seconds WHERE id = :id AND state = 'RUNNING'""")
    long finish(long id, String state, @Nullable String error, Instant now, double seconds);

    /** Back to the queue (resumed from its checkpoint when it runs again). */
    @Query("""
            UPDATE jobs SET state = 'QUEUED', server_id = NULL, device = NULL, error = :reason,
              device_seconds = device_seconds + :seconds
            WHERE id = :id AND state = 'RUNNING'""")
    long requeue(long id, String reason, double seconds);

    @Query("SELECT * FROM jobs WHERE state = 'RUNNING' AND heartbeat_at < :before")
    List<JobRow> findStale(Instant before);

    @Query("SELECT * FROM jobs WHERE state = 'RUNNING' AND cancel_requested = TRUE AND server_id = :serverId")
    List<JobRow> findCancelRequested(String serverId);
}
