package io.kiln.engine.train;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.CounterRandom;
import io.kiln.engine.data.Batches;
import io.kiln.engine.data.Dataset;
import io.kiln.engine.data.TrainingSampler;
import io.kiln.engine.tensor.Tensor;
import java.util.Arrays;

/**
 * Assembles mini-batches on the host and uploads them, reusing its buffers: one set for full batches and one
 * for the smaller last batch of an epoch, which is kept rather than dropped.
 */
final class Batcher implements AutoCloseable {
    private final Backend backend;
    private final int batchSize;
    private final int[] sampleShape;
    private final int sampleSize;
    private Buffers full;
    private Buffers tail;

    /** A batch on the device: inputs {@code [n, sample...]} and labels {@code [n]}. */
    record Batch(Tensor x, Tensor y, int size) {
    }

    private final class Buffers implements AutoCloseable {
        final int n;
        final float[] hostX;
        final float[] hostY;
        final Tensor x;
        final Tensor y;
        Tensor grad;

        Buffers(int n) {
            this.n = n;
            hostX = new float[n * sampleSize];
            hostY = new float[n];
            x = backend.allocate(Tensor.batchShape(n, sampleShape));
            y = backend.allocate(n);
        }

        @Override
        public void close() {
            x.close();
            y.close();
            if (grad != null) {
                grad.close();
            }
        }
    }

    Batcher(Backend backend, int batchSize, int[] sampleShape) {
        this.backend = backend;
        this.batchSize = batchSize;
        this.sampleShape = sampleShape.clone();
        this.sampleSize = Tensor.sizeOf(sampleShape);
    }

    int batches(int samples) {
        return (samples + batchSize - 1) / batchSize;
    }

    int batchSize(int samples, int index) {
        return Math.min(batchSize, samples - index * batchSize);
    }

    /** The epoch's sample order, the same on every run with the same seed (so a resumed run repeats it). */
    int[] order(int samples, long seed, int epoch) {
        return Batches.permutation(samples, seed, epoch);
    }

    Batch load(Dataset set, int[] order, int index) {
        return load(set, order, index, null, 0);
    }

    /**
     * Batch {@code index} of the epoch whose sample order is {@code order}; with a sampler, each sample is
     * augmented with a key derived from {@code epochKey} and its position in the epoch.
     */
    Batch load(Dataset set, int[] order, int index, TrainingSampler sampler, long epochKey) {
        int n = batchSize(order.length, index);
        Buffers b = buffers(n);
        int from = index * batchSize;
        for (int i = 0; i < n; i++) {
            int sample = order[from + i];
            if (sampler != null) {
                sampler.sample(set, sample, CounterRandom.mix(epochKey, from + i), b.hostX, i * sampleSize);
            } else {
                set.copySample(sample, b.hostX, i * sampleSize);
            }
            b.hostY[i] = set.label(sample);
        }
        backend.upload(b.hostX, b.x);
        backend.upload(b.hostY, b.y);
        current = b;
        return new Batch(b.x, b.y, n);
    }

    private Buffers current;

    /** A gradient tensor of the model output's shape for the current batch. */
    Tensor gradient(int[] outputShape) {
        if (current.grad == null || !Arrays.equals(current.grad.shape(), outputShape)) {
            if (current.grad != null) {
                current.grad.close();
            }
            current.grad = backend.allocate(outputShape);
        }
        return current.grad;
    }

    private Buffers buffers(int n) {
        if (n == batchSize) {
            if (full == null) {
                full = new Buffers(n);
            }
            return full;
        }
        if (tail == null || tail.n != n) {
            if (tail != null) {
                tail.close();
            }
            tail = new Buffers(n);
        }
        return tail;
    }

    @Override
    public void close() {
        if (full != null) {
            full.close();
        }
        if (tail != null) {
            tail.close();
        }
    }
}
