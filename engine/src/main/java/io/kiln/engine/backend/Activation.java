package io.kiln.engine.backend;

/** Pointwise activations. Their derivatives are written in terms of the output y alone. */
public enum Activation {
    /** y = max(0, x); dy/dx = 1 where y &gt; 0. */
    RELU,
    /** y = 1 / (1 + e^-x); dy/dx = y (1 - y). */
    SIGMOID,
    /** y = tanh(x); dy/dx = 1 - y^2. */
    TANH
}
