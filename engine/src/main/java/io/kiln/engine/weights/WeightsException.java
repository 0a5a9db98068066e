package io.kiln.engine.weights;

/** Weights that cannot be read or do not fit the model; the message names the file and what is wrong. */
public final class WeightsException extends RuntimeException {
    public WeightsException(String message) {
        super(message);
    }

    public WeightsException(String message, Throwable cause) {
        super(message, cause);
    }
}
