package io.kiln.engine.data;

import java.util.Arrays;
import java.util.List;

/**
 * An in-memory labelled set of images: {@link #size()} samples of shape {@link #sampleShape()} = {@code [C, H, W]}
 * (channel planes, each row-major), each with a label in {@code [0, numClasses())}.
 *
 * <p>Pixels are stored as bytes (0..255), which keeps CIFAR-10 at 150 MB rather than 600 MB as floats; they are
 * turned into floats by {@link #copySample} through the dataset's {@link Normalization}. Datasets are immutable
 * views: {@link #subset} and {@link #withNormalization} return new views that share the same bytes, so they are
 * cheap and safe to read from several threads at once.
 */
public final class Dataset {

    /** The bytes and labels that views share. */
    static final class Storage {
        final byte[] pixels;
        final int[] labels;
        final int[] shape;
        final int sampleSize;
        final List<String> classNames;
        /** The images as decoded, of any size, for transforms drawn anew each epoch; null when not kept. */
        final SourceImage[] sources;

        Storage(byte[] pixels, int[] labels, int[] shape, List<String> classNames, SourceImage[] sources) {
            this.pixels = pixels;
            this.labels = labels;
            this.shape = shape;
            this.sampleSize = shape[0] * shape[1] * shape[2];
            this.classNames = classNames;
            this.sources = sources;
        }
    }

    private final Storage storage;
    /** Positions in the storage of this view's samples, or null for all of them in order. */
    private final int[] index;
    private final Normalization normalization;
    private final float[][] tables;

    private Dataset(Storage storage, int[] index, Normalization normalization) {
        this.storage = storage;
        this.index = index;
        this.normalization = normalization;
        this.tables = normalization.tables(storage.shape[0]);
    }

    /**
     * A dataset over {@code pixels} (sample after sample, each {@code C*H*W} bytes in channel-plane, row-major
     * order) and {@code labels}, normalised by {@link Normalization#scale()}. The arrays are used as they are, not
     * copied: do not change them afterwards.
     *
     * @throws IllegalArgumentException when the lengths do not match, the shape is not three positive sizes, or a
     *                                  label is outside {@code [0, classNames.size())}
     */
    public static Dataset of(byte[] pixels, int[] labels, int[] sampleShape, List<String> classNames) {
        return of(pixels, labels, sampleShape, classNames, null);
    }

    /**
     * A zeroed pixel array for {@code images} samples of {@code shape} {@code [c, h, w]}, or a {@link DataException}
     * when they would not fit in one array, naming the {@code setting} that makes the images smaller.
     */
    static byte[] allocatePixels(int images, int[] shape, String setting) {
        long bytes = (long) images * shape[0] * shape[1] * shape[2];
        if (bytes > Integer.MAX_VALUE - 16) {
            throw new DataException(images + " images of " + shape[1] + "x" + shape[2] + " are too many to load ("
                    + bytes + " bytes); use a smaller " + setting);
        }
        return new byte[(int) bytes];
    }

    /**
     * As {@link #of(byte[], int[], int[], List)}, also keeping each sample's source image (its original size and
     * {@code C} channels) for training transforms that crop it afresh every epoch.
     */
    static Dataset of(byte[] pixels, int[] labels, int[] sampleShape, List<String> classNames, SourceImage[] sources) {
        if (sources != null && sources.length != labels.length) {
            throw new IllegalArgumentException(sources.length + " source images for " + labels.length + " labels");
        }
        if (sampleShape == null || sampleShape.length != 3) {
            throw new IllegalArgumentException("sample shape must be [channels, height, width], not "
                    + Arrays.toString(sampleShape));
        }
        long sampleSize = 1;
        for (int d : sampleShape) {
            if (d <= 0) {
                throw new IllegalArgumentException("sample shape must be positive: " + Arrays.toString(sampleShape));
            }
            sampleSize *= d;
        }
        if ((long) labels.length * sampleSize != pixels.length) {
            throw new IllegalArgumentException(labels.length + " labels of " + Arrays.toString(sampleShape)
                    + " samples need " + (long) labels.length * sampleSize + " pixel bytes, not " + pixels.length);
        }
        if (classNames.isEmpty()) {
            throw new IllegalArgumentException("a dataset needs at least one class");
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classNames.size()) {
                throw new IllegalArgumentException("label " + labels[i] + " of sample " + i + " is outside [0, "
                        + classNames.size() + ")");
            }
        }
        return new Dataset(new Storage(pixels, labels, sampleShape.clone(), List.copyOf(classNames), sources), null,
                Normalization.scale());
    }

    public int size() {
        return index == null ? storage.labels.length : index.length;
    }

    /** {@code [C, H, W]}, e.g. {@code [1, 28, 28]} or {@code [3, 32, 32]}; a fresh copy. */
    public int[] sampleShape() {
        return storage.shape.clone();
    }

    /** {@code C * H * W}, the number of floats {@link #copySample} writes. */
    public int sampleSize() {
        return storage.sampleSize;
    }

    public int channels() {
        return storage.shape[0];
    }

    public int height() {
        return storage.shape[1];
    }

    public int width() {
        return storage.shape[2];
    }

    public int numClasses() {
        return storage.classNames.size();
    }

    /** The class names, label {@code k} being {@code classNames().get(k)}; unmodifiable. */
    public List<String> classNames() {
        return storage.classNames;
    }

    public int label(int i) {
        return storage.labels[storageIndex(i)];
    }

    /** All labels in sample order; a fresh array. */
    public int[] labels() {
        int[] out = new int[size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = label(i);
        }
        return out;
    }

    /** How many samples each class has. */
    public int[] classCounts() {
        int[] counts = new int[numClasses()];
        for (int i = 0, n = size(); i < n; i++) {
            counts[label(i)]++;
        }
        return counts;
    }

    /** Writes the {@link #sampleSize()} normalised features of sample {@code i} to {@code dst[offset...]}. */
    public void copySample(int i, float[] dst, int offset) {
        byte[] pixels = storage.pixels;
        int plane = storage.shape[1] * storage.shape[2];
        int src = storageIndex(i) * storage.sampleSize;
        if (offset < 0 || offset + storage.sampleSize > dst.length) {
            throw new IndexOutOfBoundsException("sample of " + storage.sampleSize + " floats at offset " + offset
                    + " does not fit an array of " + dst.length);
        }
        int d = offset;
        for (float[] table : tables) {
            for (int end = src + plane; src < end; src++) {
                dst[d++] = table[pixels[src] & 0xFF];
            }
        }
    }

    /** Whether the source images are kept (see {@link #of(byte[], int[], int[], List, SourceImage[])}). */
    public boolean hasSources() {
        return storage.sources != null;
    }

    /** The source image of sample {@code i}. */
    SourceImage source(int i) {
        if (storage.sources == null) {
            throw new IllegalStateException("this dataset keeps no source images");
        }
        return storage.sources[storageIndex(i)];
    }

    /** Writes {@link #sampleSize()} pixel bytes of this dataset's shape as normalised features to {@code dst[offset...]}. */
    void toFeatures(byte[] raw, float[] dst, int offset) {
        int plane = storage.shape[1] * storage.shape[2];
        int d = offset;
        int src = 0;
        for (float[] table : tables) {
            for (int end = src + plane; src < end; src++) {
                dst[d++] = table[raw[src] & 0xFF];
            }
        }
    }

    /** Writes the {@link #sampleSize()} stored bytes (0..255) of sample {@code i} to {@code dst[offset...]}. */
    public void copyRaw(int i, byte[] dst, int offset) {
        System.arraycopy(storage.pixels, storageIndex(i) * storage.sampleSize, dst, offset, storage.sampleSize);
    }

    /** The stored value (0..255) of sample {@code i} at channel {@code c}, row {@code y}, column {@code x}. */
    public int pixel(int i, int c, int y, int x) {
        int[] s = storage.shape;
        if (c < 0 || c >= s[0] || y < 0 || y >= s[1] || x < 0 || x >= s[2]) {
            throw new IndexOutOfBoundsException("pixel (" + c + ", " + y + ", " + x + ") outside " + Arrays.toString(s));
        }
        return storage.pixels[storageIndex(i) * storage.sampleSize + (c * s[1] + y) * s[2] + x] & 0xFF;
    }

    public Normalization normalization() {
        return normalization;
    }

    /**
     * The same samples with another normalisation, sharing the bytes.
     *
     * @throws DataException when its mean/std have neither one entry nor one per channel
     */
    public Dataset withNormalization(Normalization n) {
        if (n.equals(normalization)) {
            return this;
        }
        return new Dataset(storage, index, n);
    }

    /**
     * The samples at {@code indices} (positions in this dataset, in that order; repeats allowed), sharing the
     * bytes and keeping this dataset's normalisation.
     */
    public Dataset subset(int[] indices) {
        int n = size();
        int[] mapped = new int[indices.length];
        for (int k = 0; k < indices.length; k++) {
            int i = indices[k];
            if (i < 0 || i >= n) {
                throw new IndexOutOfBoundsException("subset index " + i + " outside [0, " + n + ")");
            }
            mapped[k] = index == null ? i : index[i];
        }
        return new Dataset(storage, mapped, normalization);
    }

    /** Samples {@code from} (inclusive) to {@code to} (exclusive) of this dataset, sharing the bytes. */
    public Dataset range(int from, int to) {
        if (from < 0 || to > size() || from > to) {
            throw new IndexOutOfBoundsException("range [" + from + ", " + to + ") outside [0, " + size() + ")");
        }
        int[] idx = new int[to - from];
        Arrays.setAll(idx, k -> from + k);
        return subset(idx);
    }

    /** Whether {@code other} views the same stored bytes (e.g. a subset of this one). */
    public boolean sharesStorageWith(Dataset other) {
        return other.storage == storage;
    }

    Storage storage() {
        return storage;
    }

    int storageIndex(int i) {
        if (index == null) {
            if (i < 0 || i >= storage.labels.length) {
                throw new IndexOutOfBoundsException("sample " + i + " outside [0, " + storage.labels.length + ")");
            }
            return i;
        }
        return index[i];
    }

    @Override
    public String toString() {
        return "Dataset[" + size() + " x " + Arrays.toString(storage.shape) + ", " + numClasses() + (numClasses() == 1 ? " class, " : " classes, ")
                + normalization + "]";
    }
}
