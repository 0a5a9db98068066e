package io.kiln.engine.backend.cuda;

/** CUDA cannot be used here: no driver, no device, no cuBLAS/cuDNN; the message says what was missing. */
public final class CudaUnavailableException extends RuntimeException {
    public CudaUnavailableException(String message) {
        super(message);
    }

    public CudaUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
