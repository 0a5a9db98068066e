package io.kiln.service.errors;

import io.micronaut.core.annotation.Nullable;

/** A request's payload is larger than a configured limit (an archive, an image); the message gives both sizes. */
public final class TooLarge extends ServiceException {
    public TooLarge(@Nullable String field, String message) {
        super(field, message);
    }
}
