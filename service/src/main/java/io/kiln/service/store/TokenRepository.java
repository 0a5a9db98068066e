package io.kiln.service.store;

import io.micronaut.data.annotation.Query;
import io.micronaut.data.jdbc.annotation.JdbcRepository;
import io.micronaut.data.model.query.builder.sql.Dialect;
import io.micronaut.data.repository.CrudRepository;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

@JdbcRepository(dialect = Dialect.ANSI)
public interface TokenRepository extends CrudRepository<TokenRow, Long> {
    Optional<TokenRow> findByTokenHash(String tokenHash);

    List<TokenRow> findByUserIdOrderById(Long userId);

    /** Deletes the user's token {@code id}; returns the rows deleted (0: no such token of theirs). */
    @Query("DELETE FROM api_tokens WHERE id = :id AND user_id = :userId")
    long deleteOfUser(long id, long userId);

    @Query("UPDATE api_tokens SET last_used_at = :at WHERE id = :id")
    void updateLastUsed(long id, Instant at);
}
