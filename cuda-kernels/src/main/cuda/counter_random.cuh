// Kiln's counter-based random stream, bit for bit the same as
// engine/src/main/java/io/kiln/engine/backend/CounterRandom.java:
// SplitMix64's finaliser over seed + (i + 1) * golden ratio; the top 24 bits make a float in [0, 1).
// Java's long arithmetic wraps modulo 2^64 and >>> is a logical shift, exactly as unsigned 64-bit C.
#pragma once

__device__ __forceinline__ unsigned long long kiln_mix(unsigned long long seed, unsigned long long index) {
    unsigned long long z = seed + (index + 1ULL) * 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// (mix >>> 40) is a 24-bit integer: exact in float, and so is the product with 2^-24.
__device__ __forceinline__ float kiln_uniform(unsigned long long seed, unsigned long long index) {
    return (float) (kiln_mix(seed, index) >> 40) * 5.9604644775390625e-08f;
}
