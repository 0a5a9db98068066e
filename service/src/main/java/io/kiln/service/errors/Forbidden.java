package io.kiln.service.errors;

/** The caller may not do this (not the owner, not an admin). */
public final class Forbidden extends ServiceException {
    public Forbidden(String message) {
        super(null, message);
    }
}
