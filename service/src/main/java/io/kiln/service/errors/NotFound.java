package io.kiln.service.errors;

/** No such thing (job, sweep, user, checkpoint). */
public final class NotFound extends ServiceException {
    public NotFound(String message) {
        super(null, message);
    }
}
