package io.kiln.engine.backend;

public enum PoolMode {
    MAX,
    /** Average counting padded positions (as zeros) in the divisor. */
    AVERAGE
}
