package io.kiln.service.store;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.annotation.GeneratedValue;
import io.micronaut.data.annotation.Id;
import io.micronaut.data.annotation.MappedEntity;
import java.time.Instant;

/** One entry of a job's state history. */
@MappedEntity("job_events")
public record JobEventRow(@Id @GeneratedValue @Nullable Long id, Long jobId, String state, @Nullable String message,
                          Instant at) {
}
