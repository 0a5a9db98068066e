package io.kiln.engine.nn;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.CounterRandom;
import io.kiln.engine.tensor.Tensor;

/**
 * Inverted dropout: in training, zeroes each input with probability {@code rate} and scales the rest by
 * 1/(1-rate); in evaluation, the identity. Each call draws a fresh mask from (layer seed, call number), so a
 * resumed run draws the same masks as an uninterrupted one once {@link #setCalls} is restored.
 */
public final class Dropout extends Layer {
    private final float rate;
    private final long seed;
    private long calls;
    private Tensor mask;
    private boolean masked;
    private Tensor y;

    public Dropout(Backend backend, String name, int[] inputShape, double rate, long seed) {
        super(backend, name, inputShape);
        this.rate = (float) rate;
        this.seed = seed;
    }

    public void setCalls(long calls) {
        this.calls = calls;
    }

    @Override
    public Tensor forward(Tensor x, boolean training) {
        masked = training && rate > 0f;
        if (!masked) {
            return x;
        }
        int n = x.dim(0);
        mask = ensure(mask, n, inShape);
        y = ensure(y, n, outShape);
        backend.dropoutForward(x, rate, CounterRandom.mix(seed, calls++), mask, y);
        return y;
    }

    @Override
    public Tensor backward(Tensor dy) {
        if (!needInputGrad) {
            return null;
        }
        if (!masked) {
            return dy;
        }
        Tensor dx = takeInputGradient(dy);
        backend.multiply(dy, mask, dx);
        return dx;
    }

    @Override
    protected void closeScratch() {
        closeAll(mask, y);
    }
}
