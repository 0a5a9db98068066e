package io.kiln.engine.data;

/**
 * How a training sample goes into a batch when it is augmented: a pure function of the sample and a key
 * (derived from the seed, the epoch and the sample's position in it), so that a resumed run draws what the
 * uninterrupted one would have.
 */
public interface TrainingSampler {
    /** Writes sample {@code i} of {@code set}, transformed with the draws of {@code key}, as features to {@code dst[offset...]}. */
    void sample(Dataset set, int i, long key, float[] dst, int offset);
}
