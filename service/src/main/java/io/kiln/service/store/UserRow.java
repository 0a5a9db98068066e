package io.kiln.service.store;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.annotation.GeneratedValue;
import io.micronaut.data.annotation.Id;
import io.micronaut.data.annotation.MappedEntity;
import java.time.Instant;

/** A person of the lab; {@code role} is {@code user} or {@code admin}; a disabled user's tokens are refused. */
@MappedEntity("users")
public record UserRow(@Id @GeneratedValue @Nullable Long id, String name, String role, Instant createdAt,
                      boolean disabled) {
}
