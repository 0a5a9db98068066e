package io.kiln.service.store;

import io.micronaut.data.annotation.Query;
import io.micronaut.data.jdbc.annotation.JdbcRepository;
import io.micronaut.data.model.query.builder.sql.Dialect;
import io.micronaut.data.repository.CrudRepository;
import java.util.List;
import java.util.Optional;

@JdbcRepository(dialect = Dialect.ANSI)
public interface ModelRepository extends CrudRepository<ModelRow, Long> {

    Optional<ModelRow> findByName(String name);

    boolean existsByName(String name);

    @Query("SELECT * FROM models ORDER BY name")
    List<ModelRow> findAllByName();

    /** The models a user sees: their own and the shared ones. */
    @Query("SELECT * FROM models WHERE user_name = :userName OR shared = TRUE ORDER BY name")
    List<ModelRow> findVisibleTo(String userName);

    @Query("UPDATE models SET shared = :shared WHERE id = :id")
    void updateShared(long id, boolean shared);
}
