package io.kiln.service.store;

import io.micronaut.data.annotation.Query;
import io.micronaut.data.jdbc.annotation.JdbcRepository;
import io.micronaut.data.model.query.builder.sql.Dialect;
import io.micronaut.data.repository.CrudRepository;
import java.util.Optional;

@JdbcRepository(dialect = Dialect.ANSI)
public interface UserRepository extends CrudRepository<UserRow, Long> {
    Optional<UserRow> findByName(String name);

    @Query("UPDATE users SET disabled = :disabled WHERE id = :id")
    void updateDisabled(long id, boolean disabled);
}
