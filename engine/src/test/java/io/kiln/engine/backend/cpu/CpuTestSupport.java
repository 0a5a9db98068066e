package io.kiln.engine.backend.cpu;

import static org.junit.jupiter.api.Assertions.fail;

import io.kiln.engine.tensor.Tensor;

import java.util.Random;

/** Helpers shared by the CPU backend tests. */
final class CpuTestSupport {
    private CpuTestSupport() {
    }

    static float[] random(Random r, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) {
            v[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return v;
    }

    static float[] data(Tensor t) {
        return ((CpuTensor) t).data();
    }

    /**
     * Asserts |actual - expected| <= atol + rtol * scale[i] for every element, where scale is a per-element
     * magnitude (e.g. sum of |terms|) or null to use |expected|.
     */
    static void assertClose(String what, double[] expected, float[] actual, double[] scale, double rtol, double atol) {
        if (expected.length != actual.length) {
            fail(what + ": length " + actual.length + " != expected " + expected.length);
        }
        for (int i = 0; i < expected.length; i++) {
            double s = scale == null ? Math.abs(expected[i]) : scale[i];
            double err = Math.abs(actual[i] - expected[i]);
            if (!(err <= atol + rtol * s)) {
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i] + " (error " + err
                        + " > " + (atol + rtol * s) + ")");
            }
        }
    }

    static void assertClose(String what, double[] expected, float[] actual, double rtol, double atol) {
        assertClose(what, expected, actual, null, rtol, atol);
    }

    static void assertClose(String what, float[] expected, float[] actual, double rtol, double atol) {
        double[] e = new double[expected.length];
        for (int i = 0; i < e.length; i++) {
            e[i] = expected[i];
        }
        assertClose(what, e, actual, null, rtol, atol);
    }
}
