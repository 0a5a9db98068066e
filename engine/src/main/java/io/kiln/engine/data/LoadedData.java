package io.kiln.engine.data;

/**
 * A dataset as read from its folder: the training and test sets, both normalised by
 * {@link Normalization#scale()}, and the detected format ({@link DatasetLoader#FORMAT_IDX},
 * {@link DatasetLoader#FORMAT_CIFAR10} or {@link DatasetLoader#FORMAT_IMAGE_FOLDERS}).
 */
public record LoadedData(Dataset train, Dataset test, String format) {

    /**
     * What a job needs from it: a seeded validation split of the training set, then one normalisation for all
     * three parts, computed (for {@code standardize} without mean/std) from the remaining training part only.
     *
     * @param validationSplit fraction in [0, 1) of the training set held out; 0 gives no validation set
     * @param seed            seeds the split (the same seed and data give the same split)
     * @param normalize       {@code none}, {@code scale} (also for null) or {@code standardize}
     * @param mean            per-channel means for {@code standardize} (one entry, or one per channel), or null
     * @param std             per-channel standard deviations, given together with {@code mean}, or null
     * @throws DataException when the split leaves no training data or mean/std do not fit the channels
     */
    public PreparedData prepare(double validationSplit, long seed, String normalize, float[] mean, float[] std) {
        DataSplit split = DataSplit.split(train, validationSplit, seed);
        Normalization n = Normalization.of(normalize, mean, std, split.train());
        return new PreparedData(split.train().withNormalization(n),
                split.validation() == null ? null : split.validation().withNormalization(n),
                test.withNormalization(n), format, n);
    }
}
