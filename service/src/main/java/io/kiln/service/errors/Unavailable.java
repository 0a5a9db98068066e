package io.kiln.service.errors;

/** Something the service needs is down (the job store cannot be written); trying again later helps. */
public final class Unavailable extends ServiceException {
    public Unavailable(String message) {
        super(null, message);
    }
}
