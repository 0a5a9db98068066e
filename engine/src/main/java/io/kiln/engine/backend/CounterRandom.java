package io.kiln.engine.backend;

/**
 * A counter-based random stream: the i-th number is a pure function of (seed, i), so a GPU kernel and the
 * CPU draw exactly the same numbers without sharing state. SplitMix64's finaliser over seed + (i + 1) *
 * golden-ratio; the top 24 bits make a float in [0, 1). CUDA kernels must reproduce this bit for bit.
 */
public final class CounterRandom {
    private CounterRandom() {
    }

    public static long mix(long seed, long index) {
        long z = seed + (index + 1) * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1) with 24 bits of resolution (exact in float). */
    public static float uniform(long seed, long index) {
        return (mix(seed, index) >>> 40) * 0x1.0p-24f;
    }
}
