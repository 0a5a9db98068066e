package io.kiln.engine.backend.cuda;

/** Device memory ran out; the message says how much was asked for and how much was free. */
public final class CudaOutOfMemoryException extends CudaException {
    private final long requested;
    private final long free;

    public CudaOutOfMemoryException(String message, long requested, long free) {
        super(message, "cuda", 2, false);
        this.requested = requested;
        this.free = free;
    }

    public long requested() {
        return requested;
    }

    /** Free device memory when the request failed (-1 if unknown). */
    public long free() {
        return free;
    }
}
