package io.kiln.service.store;

import io.micronaut.data.annotation.Query;
import io.micronaut.data.jdbc.annotation.JdbcRepository;
import io.micronaut.data.model.Page;
import io.micronaut.data.model.Pageable;
import io.micronaut.data.model.query.builder.sql.Dialect;
import io.micronaut.data.repository.CrudRepository;
import java.util.List;

@JdbcRepository(dialect = Dialect.ANSI)
public interface SweepRepository extends CrudRepository<SweepRow, Long> {

    Page<SweepRow> findAll(Pageable pageable);

    Page<SweepRow> findByUserName(String userName, Pageable pageable);

    /** Sweeps that asked to retrain and have neither a retraining job nor a reason for none yet. */
    @Query("SELECT * FROM sweeps WHERE retrain = TRUE AND retrain_job_id IS NULL AND retrain_note IS NULL")
    List<SweepRow> findRetrainsPending();

    /** Names the retraining job, unless another server did first; returns the rows changed (0 or 1). */
    @Query("UPDATE sweeps SET retrain_job_id = :jobId WHERE id = :id AND retrain_job_id IS NULL AND retrain_note IS NULL")
    long startRetrain(long id, long jobId);

    /** Says why the sweep has no retraining job, unless it has one; returns the rows changed (0 or 1). */
    @Query("UPDATE sweeps SET retrain_note = :note WHERE id = :id AND retrain_job_id IS NULL AND retrain_note IS NULL")
    long skipRetrain(long id, String note);
}
