package io.kiln.engine.nn;

import io.kiln.engine.spec.LayerSpec;
import java.util.SplittableRandom;

/** Seeded weight initialisation, done on the host so every backend starts from the same numbers. */
final class Init {
    private Init() {
    }

    static float[] weights(LayerSpec.Init kind, int count, int fanIn, int fanOut, SplittableRandom rng) {
        float[] w = new float[count];
        if (kind == LayerSpec.Init.HE) {
            double std = Math.sqrt(2.0 / fanIn);
            for (int i = 0; i < count; i++) {
                w[i] = (float) (rng.nextGaussian() * std);
            }
        } else {
            double limit = Math.sqrt(6.0 / (fanIn + fanOut));
            for (int i = 0; i < count; i++) {
                w[i] = (float) ((rng.nextDouble() * 2 - 1) * limit);
            }
        }
        return w;
    }
}
