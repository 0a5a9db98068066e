package io.kiln.service.executor;

import java.util.Optional;

/** A run of a job that an executor started or recovered, as the executor knows it. */
public interface Run {
    long jobId();

    /** The placement's name. */
    String placement();

    /** The worker's process on this machine, where there is one (operators and tests use it). */
    Optional<Long> processId();
}
