package io.kiln.engine.data;

/**
 * A dataset that cannot be found, recognised or read. The message names the folder or file and what is wrong
 * with it, so that it can be shown to the user as it is.
 */
public class DataException extends RuntimeException {

    public DataException(String message) {
        super(message);
    }

    public DataException(String message, Throwable cause) {
        super(message, cause);
    }
}
