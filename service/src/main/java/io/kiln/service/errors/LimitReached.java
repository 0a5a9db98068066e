package io.kiln.service.errors;

/** A per-user limit is reached; waiting helps (too many queued jobs). */
public final class LimitReached extends ServiceException {
    public LimitReached(String message) {
        super(null, message);
    }
}
