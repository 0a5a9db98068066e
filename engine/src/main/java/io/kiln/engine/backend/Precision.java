package io.kiln.engine.backend;

import java.util.Locale;

/** Arithmetic of matrix products and convolutions ({@code training.precision} of a job spec). */
public enum Precision {
    /** Exact IEEE fp32 arithmetic (no tensor-core down-conversion). */
    FP32,
    /** TF32 tensor-core math for matrix products and convolutions where the GPU has it (Ampere and newer). */
    TF32;

    /** {@code fp32} or {@code tf32} (case-insensitive); null means fp32. */
    public static Precision parse(String s) {
        if (s == null) {
            return FP32;
        }
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "fp32" -> FP32;
            case "tf32" -> TF32;
            default -> throw new IllegalArgumentException("unknown precision \"" + s + "\"; use fp32 or tf32");
        };
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
