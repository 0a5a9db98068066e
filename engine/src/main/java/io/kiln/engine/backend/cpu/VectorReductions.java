package io.kiln.engine.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link Reductions} on the Vector API: two vectors of 8 partial sums, added lane by lane in a fixed order at
 * the end (not {@code reduceLanes}, whose order is the implementation's), then the tail. Batch normalisation's
 * statistics and its backward pass ran 2.3-3x faster than with {@link Reductions}' scalar partial sums, which
 * C2 does not vectorise (rows of 64 to 1,024 floats, one core). Loaded only where {@link VectorSupport} says.
 */
final class VectorReductions {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
    private static final int STEP = 2 * VectorConvolution.LANES;

    private VectorReductions() {
    }

    static float sum(float[] a, int off, int len) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S);
        int i = off, end = off + len;
        for (; i + STEP <= end; i += STEP) {
            s0 = s0.add(FloatVector.fromArray(S, a, i));
            s1 = s1.add(FloatVector.fromArray(S, a, i + VectorConvolution.LANES));
        }
        float s = lanes(s0.add(s1));
        for (; i < end; i++) {
            s += a[i];
        }
        return s;
    }

    static float sumSquaredDeviation(float[] a, int off, int len, float mean) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S), m = FloatVector.broadcast(S, mean);
        int i = off, end = off + len;
        for (; i + STEP <= end; i += STEP) {
            FloatVector d0 = FloatVector.fromArray(S, a, i).sub(m);
            FloatVector d1 = FloatVector.fromArray(S, a, i + VectorConvolution.LANES).sub(m);
            s0 = d0.fma(d0, s0);
            s1 = d1.fma(d1, s1);
        }
        float s = lanes(s0.add(s1));
        for (; i < end; i++) {
            float d = a[i] - mean;
            s += d * d;
        }
        return s;
    }

    /** {@link Reductions#sumAndDotDeviation}: g read once for both sums. */
    static void sumAndDotDeviation(float[] g, float[] x, int off, int len, float mean, float[] sums) {
        FloatVector s0 = FloatVector.zero(S), s1 = FloatVector.zero(S), m = FloatVector.broadcast(S, mean);
        FloatVector d0 = FloatVector.zero(S), d1 = FloatVector.zero(S);
        int i = off, end = off + len;
        for (; i + STEP <= end; i += STEP) {
            int j = i + VectorConvolution.LANES;
            FloatVector g0 = FloatVector.fromArray(S, g, i), g1 = FloatVector.fromArray(S, g, j);
            s0 = s0.add(g0);
            s1 = s1.add(g1);
            d0 = g0.fma(FloatVector.fromArray(S, x, i).sub(m), d0);
            d1 = g1.fma(FloatVector.fromArray(S, x, j).sub(m), d1);
        }
        float s = lanes(s0.add(s1)), d = lanes(d0.add(d1));
        for (; i < end; i++) {
            s += g[i];
            d += g[i] * (x[i] - mean);
        }
        sums[0] = s;
        sums[1] = d;
    }

    /** The 8 lanes added pairwise in lane order. */
    private static float lanes(FloatVector v) {
        return ((v.lane(0) + v.lane(1)) + (v.lane(2) + v.lane(3)))
                + ((v.lane(4) + v.lane(5)) + (v.lane(6) + v.lane(7)));
    }
}
