package io.kiln.engine.cli;

/** How {@code train} ends, as its exit status; a supervising service tells its users which failure it was. */
public final class ExitCodes {
    public static final int DONE = 0;
    /** Anything not below. */
    public static final int OTHER = 1;
    /** A spec or dataset the engine refused; the error event names the field or file. */
    public static final int BAD_INPUT = 2;
    /**
     * Out of memory: the Java heap (a JVM run with {@code -XX:+ExitOnOutOfMemoryError} exits with 3 by its own
     * choice, which is why this code is 3) or the GPU's memory.
     */
    public static final int OUT_OF_MEMORY = 3;
    /** A CUDA error that poisoned the device context (illegal address, launch failure...). */
    public static final int DEVICE_FATAL = 4;
    /** The loss became NaN or infinite. */
    public static final int DIVERGED = 5;

    private ExitCodes() {
    }
}
