package io.kiln.engine.data;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A training set divided into the part trained on and a held-out validation part ({@code null} when the
 * validation fraction is 0). Both share the original's bytes and normalisation.
 */
public record DataSplit(Dataset train, Dataset validation) {

    /**
     * Splits {@code full} at random: {@code round(fraction * size)} samples (at least one when the fraction is
     * above 0) go to validation, the rest to training, each part keeping the original order. The split depends
     * only on the seed and the dataset's size, so it is the same on every run with the same seed and data.
     *
     * @param fraction in [0, 1); 0 gives no validation set
     * @throws DataException when the fraction is out of range or leaves no training samples
     */
    public static DataSplit split(Dataset full, double fraction, long seed) {
        if (!(fraction >= 0 && fraction < 1)) {
            throw new DataException("validation split must be in [0, 1), not " + fraction);
        }
        int n = full.size();
        if (fraction == 0) {
            return new DataSplit(full, null);
        }
        int nVal = (int) Math.max(1, Math.round(fraction * n));
        if (nVal >= n) {
            throw new DataException("a validation split of " + fraction + " of " + n + " training samples leaves "
                    + "none to train on");
        }
        int[] perm = permutation(n, seed);
        int[] val = Arrays.copyOfRange(perm, 0, nVal);
        int[] train = Arrays.copyOfRange(perm, nVal, n);
        Arrays.sort(val);
        Arrays.sort(train);
        return new DataSplit(full.subset(train), full.subset(val));
    }

    /** A seeded Fisher-Yates permutation of {@code 0..n-1}, independent of the batch orders' seeding. */
    private static int[] permutation(int n, long seed) {
        return Batches.permutation(n, new SplittableRandom(seed ^ 0x5EED_5B11_7000_0001L));
    }

    public boolean hasValidation() {
        return validation != null;
    }
}
