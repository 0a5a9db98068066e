package io.kiln.engine.backend.cpu;

/**
 * Whether the CPU backend may use {@link VectorConvolution}: the JVM must have been started with {@code
 * --add-modules jdk.incubator.vector} (Kiln's launchers and worker command lines add it), the CPU must have
 * 256-bit vectors, and {@code -Dkiln.cpu.vector=false} must not turn it off. Otherwise convolutions take the
 * matrix-product path, which gives the same results to rounding; {@link #describe} says which and why. This
 * class names no incubator type, so it loads on any JVM.
 */
final class VectorSupport {
    static final String MODULE = "jdk.incubator.vector";
    private static final String REASON = reason();

    private VectorSupport() {
    }

    /** Whether {@link VectorConvolution} is used. */
    static boolean enabled() {
        return REASON == null;
    }

    /** e.g. "direct convolutions on the Vector API" or why not. */
    static String describe() {
        return REASON == null ? "direct convolutions on the Vector API"
                : "convolutions as matrix products (no Vector API: " + REASON + ")";
    }

    private static String reason() {
        if (!Boolean.parseBoolean(System.getProperty("kiln.cpu.vector", "true"))) {
            return "-Dkiln.cpu.vector=false";
        }
        if (ModuleLayer.boot().findModule(MODULE).isEmpty()) {
            return "start Java with --add-modules " + MODULE;
        }
        try {
            return VectorConvolution.nativeWidth() ? null : "this CPU has no 256-bit vectors";
        } catch (LinkageError e) {
            return e.toString();
        }
    }
}
