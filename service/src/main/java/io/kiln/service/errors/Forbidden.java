package io.kiln.service.errors;

import io.micronaut.core.annotation.Nullable;

/** The caller may not do this (not the owner, not an admin, a job not shared); the message says who may. */
public final class Forbidden extends ServiceException {
    public Forbidden(String message) {
        super(null, message);
    }

    /** Refused because of what a request field asks for (a spec's {@code init.fromJob}). */
    public Forbidden(@Nullable String field, String message) {
        super(field, message);
    }
}
