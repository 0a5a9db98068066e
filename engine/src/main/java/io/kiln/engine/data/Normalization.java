package io.kiln.engine.data;

import java.util.Arrays;
import java.util.Locale;

/**
 * How a dataset turns its stored pixel bytes (0..255) into features: {@link #none()} keeps the raw values,
 * {@link #scale()} (the default) divides by 255, and {@link #standardize} scales to [0,1] and then applies
 * {@code (x - mean[c]) / std[c]} per channel {@code c}. The mean and std are in [0,1] units (as torchvision's
 * {@code Normalize} after {@code ToTensor}); a single entry applies to every channel.
 *
 * <p>Immutable. A {@link Dataset} applies its normalisation in {@link Dataset#copySample} through a per-channel
 * table of 256 floats, so the conversion costs one lookup per value.
 */
public final class Normalization {

    /** The three modes of a job spec's {@code data.normalize}. */
    public enum Kind {
        NONE, SCALE, STANDARDIZE;

        /** The spelling used in job specs: {@code none}, {@code scale}, {@code standardize}. */
        public String specName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** torchvision's ImageNet statistics of RGB images in [0,1] units, which pretrained ImageNet models expect. */
    public static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
    public static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};

    private static final Normalization NONE = new Normalization(Kind.NONE, null, null);
    private static final Normalization SCALE = new Normalization(Kind.SCALE, null, null);

    private final Kind kind;
    private final float[] mean;
    private final float[] std;

    private Normalization(Kind kind, float[] mean, float[] std) {
        this.kind = kind;
        this.mean = mean;
        this.std = std;
    }

    /** Raw pixel values, 0..255. */
    public static Normalization none() {
        return NONE;
    }

    /** Pixel values divided by 255, in [0,1]. */
    public static Normalization scale() {
        return SCALE;
    }

    /**
     * Scaling to [0,1], then {@code (x - mean[c]) / std[c]} per channel. Both arrays must have the same length:
     * one entry (for every channel) or one per channel of the data it is applied to.
     */
    public static Normalization standardize(float[] mean, float[] std) {
        if (mean == null || std == null) {
            throw new IllegalArgumentException("standardize needs both mean and std");
        }
        if (mean.length == 0 || mean.length != std.length) {
            throw new IllegalArgumentException("standardize needs mean and std of the same, non-zero length (got "
                    + mean.length + " and " + std.length + ")");
        }
        for (int c = 0; c < mean.length; c++) {
            if (!Float.isFinite(mean[c])) {
                throw new IllegalArgumentException("mean[" + c + "] is not a finite number: " + mean[c]);
            }
            if (!(std[c] > 0) || !Float.isFinite(std[c])) {
                throw new IllegalArgumentException("std[" + c + "] must be a finite number > 0, not " + std[c]);
            }
        }
        return new Normalization(Kind.STANDARDIZE, mean.clone(), std.clone());
    }

    /**
     * Per-channel mean and (population) standard deviation of the [0,1]-scaled pixels of {@code raw}, whatever
     * normalisation {@code raw} itself has; pass the training part only, so that validation and test data do not
     * leak into it. A channel with zero spread gets std 1.
     */
    public static Normalization computeStandardization(Dataset raw) {
        if (raw.size() == 0) {
            throw new DataException("cannot compute mean and std of an empty dataset");
        }
        int channels = raw.channels();
        int plane = raw.sampleSize() / channels;
        long[] sum = new long[channels];
        long[] sumSq = new long[channels];
        byte[] pixels = raw.storage().pixels;
        int sampleSize = raw.sampleSize();
        for (int i = 0; i < raw.size(); i++) {
            int base = raw.storageIndex(i) * sampleSize;
            for (int c = 0; c < channels; c++) {
                long s = 0;
                long q = 0;
                for (int p = base + c * plane, end = p + plane; p < end; p++) {
                    int v = pixels[p] & 0xFF;
                    s += v;
                    q += v * v;
                }
                sum[c] += s;
                sumSq[c] += q;
            }
        }
        double n = (double) raw.size() * plane;
        float[] mean = new float[channels];
        float[] std = new float[channels];
        for (int c = 0; c < channels; c++) {
            double m = sum[c] / n;
            double var = Math.max(0, sumSq[c] / n - m * m);
            mean[c] = (float) (m / 255.0);
            double sd = Math.sqrt(var) / 255.0;
            std[c] = sd > 1e-12 ? (float) sd : 1f;
        }
        return new Normalization(Kind.STANDARDIZE, mean, std);
    }

    /**
     * The normalisation a job spec's {@code data} part asks for: {@code mode} is {@code none}, {@code scale} (also
     * for null), {@code imagenet} (torchvision's ImageNet mean and std) or {@code standardize}; for the last, the
     * given {@code mean}/{@code std}, or when they are null those computed from {@code trainRaw}.
     */
    public static Normalization of(String mode, float[] mean, float[] std, Dataset trainRaw) {
        String m = mode == null ? "scale" : mode.toLowerCase(Locale.ROOT);
        switch (m) {
            case "none":
                return none();
            case "scale":
                return scale();
            case "imagenet":
                return standardize(IMAGENET_MEAN, IMAGENET_STD);
            case "standardize":
                if (mean != null || std != null) {
                    try {
                        return standardize(mean, std);
                    } catch (IllegalArgumentException e) {
                        throw new DataException("data.normalize: " + e.getMessage(), e);
                    }
                }
                return computeStandardization(trainRaw);
            default:
                throw new DataException("data.normalize: unknown mode \"" + mode
                        + "\" (expected none, scale, standardize or imagenet)");
        }
    }

    public Kind kind() {
        return kind;
    }

    /** The per-channel means (in [0,1] units), or null unless {@link Kind#STANDARDIZE}. */
    public float[] mean() {
        return mean == null ? null : mean.clone();
    }

    /** The per-channel standard deviations (in [0,1] units), or null unless {@link Kind#STANDARDIZE}. */
    public float[] std() {
        return std == null ? null : std.clone();
    }

    /** The feature value of pixel byte {@code value} (0..255) in channel {@code channel}. */
    public float apply(int channel, int value) {
        switch (kind) {
            case NONE:
                return value;
            case SCALE:
                return value / 255f;
            default:
                int c = mean.length == 1 ? 0 : channel;
                return (value / 255f - mean[c]) / std[c];
        }
    }

    /** Throws a {@link DataException} unless this normalisation fits data with {@code channels} channels. */
    public void checkChannels(int channels) {
        if (mean != null && mean.length != 1 && mean.length != channels) {
            throw new DataException("data.normalize: mean and std have " + mean.length
                    + " entries but the dataset has " + channels + (channels == 1 ? " channel" : " channels"));
        }
    }

    /** The lookup tables {@code [channel][byte value]} for data with {@code channels} channels. */
    float[][] tables(int channels) {
        checkChannels(channels);
        float[][] t = new float[channels][256];
        for (int c = 0; c < channels; c++) {
            for (int v = 0; v < 256; v++) {
                t[c][v] = apply(c, v);
            }
        }
        return t;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Normalization n && n.kind == kind && Arrays.equals(n.mean, mean)
                && Arrays.equals(n.std, std);
    }

    @Override
    public int hashCode() {
        return kind.hashCode() * 31 + Arrays.hashCode(mean) * 7 + Arrays.hashCode(std);
    }

    /** {@code none}, {@code scale} or {@code standardize(mean=[..], std=[..])}, for logs. */
    @Override
    public String toString() {
        if (kind != Kind.STANDARDIZE) {
            return kind.specName();
        }
        return "standardize(mean=" + Arrays.toString(mean) + ", std=" + Arrays.toString(std) + ")";
    }
}
