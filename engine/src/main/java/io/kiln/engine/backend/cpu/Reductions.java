package io.kiln.engine.backend.cpu;

/**
 * Sums over float runs for the bias gradient and batch normalisation, on {@link VectorReductions} where {@link
 * VectorSupport} allows, else in several scalar partial sums: a single float accumulator is bound by the
 * latency of the add (each add waits for the previous one).
 */
final class Reductions {
    private static final boolean VECTOR = VectorSupport.enabled();

    private Reductions() {
    }

    /** Sum of a[off .. off + len). */
    static float sum(float[] a, int off, int len) {
        return VECTOR ? VectorReductions.sum(a, off, len) : scalarSum(a, off, len);
    }

    /** Sum of (a[i] - mean)^2. */
    static float sumSquaredDeviation(float[] a, int off, int len, float mean) {
        return VECTOR ? VectorReductions.sumSquaredDeviation(a, off, len, mean)
                : scalarSumSquaredDeviation(a, off, len, mean);
    }

    /**
     * sums[0] = the sum of g[i], sums[1] = the sum of g[i] * (x[i] - mean), over [off, off + len): on the Vector
     * API in one pass over g (batch norm's backward reads dy once, not twice), else as {@link #scalarSum} and
     * {@link #scalarDotDeviation}.
     */
    static void sumAndDotDeviation(float[] g, float[] x, int off, int len, float mean, float[] sums) {
        if (VECTOR) {
            VectorReductions.sumAndDotDeviation(g, x, off, len, mean, sums);
        } else {
            sums[0] = scalarSum(g, off, len);
            sums[1] = scalarDotDeviation(g, x, off, len, mean);
        }
    }

    /** {@link #sum} in eight scalar partial sums. */
    static float scalarSum(float[] a, int off, int len) {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f, s4 = 0f, s5 = 0f, s6 = 0f, s7 = 0f;
        int i = off, end = off + len;
        for (; i + 8 <= end; i += 8) {
            s0 += a[i];
            s1 += a[i + 1];
            s2 += a[i + 2];
            s3 += a[i + 3];
            s4 += a[i + 4];
            s5 += a[i + 5];
            s6 += a[i + 6];
            s7 += a[i + 7];
        }
        for (; i < end; i++) {
            s0 += a[i];
        }
        return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
    }

    /** {@link #sumSquaredDeviation} in four scalar partial sums. */
    static float scalarSumSquaredDeviation(float[] a, int off, int len, float mean) {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        int i = off, end = off + len;
        for (; i + 4 <= end; i += 4) {
            float d0 = a[i] - mean, d1 = a[i + 1] - mean, d2 = a[i + 2] - mean, d3 = a[i + 3] - mean;
            s0 += d0 * d0;
            s1 += d1 * d1;
            s2 += d2 * d2;
            s3 += d3 * d3;
        }
        for (; i < end; i++) {
            float d = a[i] - mean;
            s0 += d * d;
        }
        return (s0 + s1) + (s2 + s3);
    }

    /** The sum of g[i] * (x[i] - mean) in four scalar partial sums. */
    static float scalarDotDeviation(float[] g, float[] x, int off, int len, float mean) {
        float s0 = 0f, s1 = 0f, s2 = 0f, s3 = 0f;
        int i = off, end = off + len;
        for (; i + 4 <= end; i += 4) {
            s0 += g[i] * (x[i] - mean);
            s1 += g[i + 1] * (x[i + 1] - mean);
            s2 += g[i + 2] * (x[i + 2] - mean);
            s3 += g[i + 3] * (x[i + 3] - mean);
        }
        for (; i < end; i++) {
            s0 += g[i] * (x[i] - mean);
        }
        return (s0 + s1) + (s2 + s3);
    }
}
