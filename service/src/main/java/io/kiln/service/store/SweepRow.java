package io.kiln.service.store;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.annotation.GeneratedValue;
import io.micronaut.data.annotation.Id;
import io.micronaut.data.annotation.MappedEntity;
import java.time.Instant;

/** A sweep: its request body (name, base spec, grid); its points are the jobs with its id. */
@MappedEntity("sweeps")
public record SweepRow(@Id @GeneratedValue @Nullable Long id, String name, String userName, String body,
                       Instant submittedAt) {
}
