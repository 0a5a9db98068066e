package io.kiln.service.errors;

import io.micronaut.core.annotation.Nullable;

/**
 * A request that the service's rules refuse, in the service's own terms; the API layer chooses the HTTP status
 * (api.ApiErrors). {@link #field()} names the request field at fault, where one is.
 */
public abstract sealed class ServiceException extends RuntimeException
        permits BadInput, Conflict, Forbidden, LimitReached, NotFound, TooLarge, Unavailable {
    private final String field;

    ServiceException(@Nullable String field, String message) {
        super(field == null ? message : field + ": " + message);
        this.field = field;
    }

    @Nullable
    public String field() {
        return field;
    }
}
