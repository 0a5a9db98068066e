package io.kiln.engine.backend.cuda;

/**
 * A failed CUDA driver, cuBLAS or cuDNN call (or a CUDA resource that could not be had). The message names
 * the operation, the shapes involved and the library's error text. {@link #fatal()} is true for errors that
 * leave the CUDA context unusable (illegal address, launch failure, ...): the process must not go on with
 * GPU work after one (a Kiln worker exits).
 */
public class CudaException extends RuntimeException {
    private final String library;
    private final int status;
    private final boolean fatal;

    public CudaException(String message, String library, int status, boolean fatal) {
        super(message);
        this.library = library;
        this.status = status;
        this.fatal = fatal;
    }

    public CudaException(String message, String library, int status, boolean fatal, Throwable cause) {
        this(message, library, status, fatal);
        initCause(cause);
    }

    /** {@code cuda}, {@code cublas}, {@code cudnn} or {@code kiln}. */
    public String library() {
        return library;
    }

    /** The library's status code (0 when the error is Kiln's own). */
    public int status() {
        return status;
    }

    /** Whether the CUDA context is poisoned: the process should exit rather than continue. */
    public boolean fatal() {
        return fatal;
    }
}
