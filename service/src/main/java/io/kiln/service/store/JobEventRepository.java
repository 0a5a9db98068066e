package io.kiln.service.store;

import io.micronaut.data.jdbc.annotation.JdbcRepository;
import io.micronaut.data.model.query.builder.sql.Dialect;
import io.micronaut.data.repository.CrudRepository;
import java.util.List;

@JdbcRepository(dialect = Dialect.ANSI)
public interface JobEventRepository extends CrudRepository<JobEventRow, Long> {
    List<JobEventRow> findByJobIdOrderById(Long jobId);
}
