package io.kiln.service.store;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.annotation.GeneratedValue;
import io.micronaut.data.annotation.Id;
import io.micronaut.data.annotation.MappedEntity;

/** A chunk of a job's log (one or more lines, in order of id). */
@MappedEntity("job_logs")
public record LogRow(@Id @GeneratedValue @Nullable Long id, Long jobId, String text) {
}
