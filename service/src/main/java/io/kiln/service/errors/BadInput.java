package io.kiln.service.errors;

import io.micronaut.core.annotation.Nullable;

/** A request field (or an uploaded file) that breaks a rule; the message starts with the field's name. */
public final class BadInput extends ServiceException {
    public BadInput(String message) {
        super(null, message);
    }

    public BadInput(@Nullable String field, String message) {
        super(field, message);
    }
}
