package io.kiln.service.store;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.annotation.GeneratedValue;
import io.micronaut.data.annotation.Id;
import io.micronaut.data.annotation.MappedEntity;
import java.time.Instant;

/**
 * An API token, stored as the hex SHA-256 of the token; {@code expiresAt} null never expires, {@code lastUsedAt}
 * is kept to the minute.
 */
@MappedEntity("api_tokens")
public record TokenRow(@Id @GeneratedValue @Nullable Long id, Long userId, String tokenHash, @Nullable String label,
                       Instant createdAt, @Nullable Instant expiresAt, @Nullable Instant lastUsedAt) {
}
