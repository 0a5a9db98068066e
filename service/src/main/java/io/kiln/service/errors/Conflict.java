package io.kiln.service.errors;

import io.micronaut.core.annotation.Nullable;

/** The request does not fit the current state (the job has ended, the name is taken, its data cannot be read). */
public final class Conflict extends ServiceException {
    public Conflict(String message) {
        super(null, message);
    }

    public Conflict(@Nullable String field, String message) {
        super(field, message);
    }
}
