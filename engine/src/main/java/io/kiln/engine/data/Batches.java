package io.kiln.engine.data;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Mini-batches over a dataset. Each epoch has an order of the samples: with shuffling, a Fisher-Yates
 * permutation seeded by (seed, epoch), the same on every run; without, the dataset's order. Batch {@code b} is
 * samples {@code order[b*batchSize ...]}; the last batch of an epoch may be smaller and is kept.
 *
 * <p>Use: {@code Batches.Epoch e = batches.epoch(k); for (b < e.count()) n = e.fill(b, x, y);}. {@link #fill} only
 * reads the dataset, so several threads may fill different batches (into different arrays) at once.
 */
public record Batches(Dataset dataset, int batchSize, boolean shuffle, long seed) {
    /** Below this many floats per batch, filling is done on the calling thread. */
    private static final int PARALLEL_THRESHOLD = 1 << 17;

    public Batches {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be > 0, not " + batchSize);
        }
    }

    /** Batches per epoch: {@code ceil(size / batchSize)}. */
    public int count() {
        return (dataset.size() + batchSize - 1) / batchSize;
    }

    /** The number of samples in batch {@code b}: {@code batchSize}, or fewer for the last one. */
    public int size(int b) {
        if (b < 0 || b >= count()) {
            throw new IndexOutOfBoundsException("batch " + b + " outside [0, " + count() + ")");
        }
        return Math.min(batchSize, dataset.size() - b * batchSize);
    }

    /** The sample order of epoch {@code epoch}: a seeded permutation when shuffling, else 0, 1, 2, ... */
    public int[] order(int epoch) {
        if (!shuffle) {
            int[] order = new int[dataset.size()];
            Arrays.setAll(order, i -> i);
            return order;
        }
        return permutation(dataset.size(), seed, epoch);
    }

    /**
     * A Fisher-Yates permutation of {@code 0..n-1} seeded by (seed, epoch): the same for the same arguments,
     * different from epoch to epoch.
     */
    public static int[] permutation(int n, long seed, int epoch) {
        return permutation(n, new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch));
    }

    /** A Fisher-Yates permutation of {@code 0..n-1} drawn from {@code rng}. */
    public static int[] permutation(int n, SplittableRandom rng) {
        int[] order = new int[n];
        Arrays.setAll(order, i -> i);
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /**
     * Writes batch {@code b} of the epoch whose {@link #order} is {@code order}: the samples' features to
     * {@code x} (sample after sample, {@code sampleSize} floats each) and their labels, as floats, to {@code y}
     * (may be null). The arrays need room for {@link #size(int) size(b)} samples; a bigger one keeps its tail.
     *
     * @return the batch's size
     */
    public int fill(int[] order, int b, float[] x, float[] y) {
        if (order.length != dataset.size()) {
            throw new IllegalArgumentException("order has " + order.length + " entries for " + dataset.size()
                    + " samples");
        }
        int n = size(b);
        int from = b * batchSize;
        int sampleSize = dataset.sampleSize();
        if (x.length < n * sampleSize || (y != null && y.length < n)) {
            throw new IllegalArgumentException("batch of " + n + " samples needs x of " + n * sampleSize
                    + " and y of " + n + " floats, got " + x.length + " and " + (y == null ? "none" : y.length));
        }
        if ((long) n * sampleSize >= PARALLEL_THRESHOLD && n > 1) {
            IntStream.range(0, n).parallel().forEach(k -> dataset.copySample(order[from + k], x, k * sampleSize));
        } else {
            for (int k = 0; k < n; k++) {
                dataset.copySample(order[from + k], x, k * sampleSize);
            }
        }
        if (y != null) {
            for (int k = 0; k < n; k++) {
                y[k] = dataset.label(order[from + k]);
            }
        }
        return n;
    }

    /** Epoch {@code epoch}: its order, computed once, and its batches. */
    public Epoch epoch(int epoch) {
        return new Epoch(epoch, order(epoch));
    }

    /** One epoch's batches, over a fixed sample order. */
    public final class Epoch {
        private final int number;
        private final int[] order;

        private Epoch(int number, int[] order) {
            this.number = number;
            this.order = order;
        }

        public int number() {
            return number;
        }

        /** The sample order (positions in the dataset); a fresh copy. */
        public int[] order() {
            return order.clone();
        }

        public int count() {
            return Batches.this.count();
        }

        public int size(int b) {
            return Batches.this.size(b);
        }

        /** Fills batch {@code b} of this epoch, as {@link Batches#fill(int[], int, float[], float[])}. */
        public int fill(int b, float[] x, float[] y) {
            return Batches.this.fill(order, b, x, y);
        }
    }
}
