package io.kiln.client;

/** A request that failed: {@link #status()} is the HTTP status, or 0 when the server could not be reached. */
public final class KilnException extends RuntimeException {
    private final int status;

    public KilnException(int status, String message) {
        super(message);
        this.status = status;
    }

    public int status() {
        return status;
    }
}
