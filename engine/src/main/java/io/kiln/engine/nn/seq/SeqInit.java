package io.kiln.engine.nn.seq;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.nn.Param;
import java.util.SplittableRandom;

/** The initial weights of the sequence layers, as CS231n's CaptioningRNN draws them. */
final class SeqInit {
    private SeqInit() {
    }

    /** A parameter of Gaussian values with standard deviation {@code std} (zeros for std 0). */
    static Param gaussian(Backend backend, String name, double std, SplittableRandom rng, int... shape) {
        float[] v = new float[io.kiln.engine.tensor.Tensor.sizeOf(shape)];
        if (std > 0) {
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (rng.nextGaussian() * std);
            }
        }
        return new Param(name, backend.fromHost(v, shape), backend.allocate(shape));
    }
}
