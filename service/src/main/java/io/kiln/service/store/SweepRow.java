package io.kiln.service.store;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.annotation.GeneratedValue;
import io.micronaut.data.annotation.Id;
import io.micronaut.data.annotation.MappedEntity;
import java.time.Instant;

/**
 * A sweep: its request body (name, base spec, grid); its points are the jobs with its id. With {@code retrain},
 * once every point has ended one more job with its id, {@code retrainJobId}, retrains the best point on the
 * training and validation data, or {@code retrainNote} says why none could.
 */
@MappedEntity("sweeps")
public record SweepRow(@Id @GeneratedValue @Nullable Long id, String name, String userName, String body,
                       Instant submittedAt, boolean retrain, @Nullable Long retrainJobId, @Nullable String retrainNote) {
}
