package io.kiln.engine.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The IDX format of MNIST and Fashion-MNIST: {@code train-images-idx3-ubyte}, {@code train-labels-idx1-ubyte},
 * {@code t10k-images-idx3-ubyte} and {@code t10k-labels-idx1-ubyte}, each raw or gzip-compressed (detected from
 * the content; usually named {@code .gz}). Images have magic number 0x00000803 followed by count, rows and
 * columns; labels 0x00000801 followed by count; all big-endian, then one unsigned byte per pixel or label.
 */
final class IdxFormat {
    static final int IMAGES_MAGIC = 0x00000803;
    static final int LABELS_MAGIC = 0x00000801;

    static final String TRAIN_IMAGES = "train-images-idx3-ubyte";
    static final String TRAIN_LABELS = "train-labels-idx1-ubyte";
    static final String TEST_IMAGES = "t10k-images-idx3-ubyte";
    static final String TEST_LABELS = "t10k-labels-idx1-ubyte";

    static final List<String> FASHION_CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    /** Deflate cannot compress better than about 1032:1; a header asking for more than that is corrupt. */
    private static final long MAX_GZIP_RATIO = 1100;

    private IdxFormat() {
    }

    /** Whether the folder holds IDX training images under any accepted name. */
    static boolean detect(Path folder) {
        return find(folder, TRAIN_IMAGES) != null;
    }

    /**
     * The file for {@code base}: the name itself, with {@code .gz}, or with the '-' before "idx" written '.'
     * (as some mirrors of MNIST name them), or null.
     */
    static Path find(Path folder, String base) {
        String dotted = base.replace("-idx", ".idx");
        for (String name : new String[] {base, base + ".gz", dotted, dotted + ".gz"}) {
            Path p = folder.resolve(name);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        return null;
    }

    static LoadedData load(Path folder) {
        List<String> missing = new ArrayList<>();
        Path trainImages = require(folder, TRAIN_IMAGES, missing);
        Path trainLabels = require(folder, TRAIN_LABELS, missing);
        Path testImages = require(folder, TEST_IMAGES, missing);
        Path testLabels = require(folder, TEST_LABELS, missing);
        if (!missing.isEmpty()) {
            throw new DataException("IDX dataset " + folder + " is incomplete: missing " + String.join(", ", missing)
                    + " (each may be gzip-compressed, named .gz); the folder contains: "
                    + DataFiles.describeContents(folder, 30));
        }
        Images train = readImages(trainImages);
        int[] trainY = readLabels(trainLabels);
        Images test = readImages(testImages);
        int[] testY = readLabels(testLabels);
        checkCount(trainImages, train.count, trainLabels, trainY.length);
        checkCount(testImages, test.count, testLabels, testY.length);
        if (train.rows != test.rows || train.cols != test.cols) {
            throw new DataException("IDX dataset " + folder + ": training images are " + train.rows + "x"
                    + train.cols + " (" + trainImages.getFileName() + ") but test images are " + test.rows + "x"
                    + test.cols + " (" + testImages.getFileName() + ")");
        }

        List<String> classes = classNames(folder, trainY, testY);
        checkLabels(trainLabels, trainY, classes);
        checkLabels(testLabels, testY, classes);
        int[] shape = {1, train.rows, train.cols};
        return new LoadedData(Dataset.of(train.pixels, trainY, shape, classes),
                Dataset.of(test.pixels, testY, shape, classes), DatasetLoader.FORMAT_IDX);
    }

    private static Path require(Path folder, String base, List<String> missing) {
        Path p = find(folder, base);
        if (p == null) {
            missing.add(base + "[.gz]");
        }
        return p;
    }

    record Images(byte[] pixels, int count, int rows, int cols) {
    }

    static Images readImages(Path file) {
        boolean gzip = DataFiles.isGzip(file);
        try (InputStream in = DataFiles.open(file, gzip)) {
            checkMagic(file, gzip, DataFiles.readInt(in, file, "the IDX header"), IMAGES_MAGIC, "images");
            int count = DataFiles.readInt(in, file, "the IDX header");
            int rows = DataFiles.readInt(in, file, "the IDX header");
            int cols = DataFiles.readInt(in, file, "the IDX header");
            if (count < 0 || rows <= 0 || cols <= 0) {
                throw new DataException("file " + file + " is corrupt: its header gives " + count + " images of "
                        + rows + "x" + cols);
            }
            long bytes = (long) count * rows * cols;
            checkLength(file, gzip, 16, bytes, count + " images of " + rows + "x" + cols);
            byte[] pixels = new byte[(int) bytes];
            DataFiles.readFully(in, pixels, 0, pixels.length, file,
                    "pixel data (" + count + " images of " + rows + "x" + cols + ")");
            if (!DataFiles.atEnd(in, file)) {
                throw new DataException("file " + file + " is corrupt: it has more data than its header's " + count
                        + " images of " + rows + "x" + cols);
            }
            return new Images(pixels, count, rows, cols);
        } catch (IOException e) {
            throw DataFiles.cannotRead(file, e);
        }
    }

    static int[] readLabels(Path file) {
        boolean gzip = DataFiles.isGzip(file);
        try (InputStream in = DataFiles.open(file, gzip)) {
            checkMagic(file, gzip, DataFiles.readInt(in, file, "the IDX header"), LABELS_MAGIC, "labels");
            int count = DataFiles.readInt(in, file, "the IDX header");
            if (count < 0) {
                throw new DataException("file " + file + " is corrupt: its header gives " + count + " labels");
            }
            checkLength(file, gzip, 8, count, count + " labels");
            byte[] raw = new byte[count];
            DataFiles.readFully(in, raw, 0, count, file, "labels (" + count + ")");
            if (!DataFiles.atEnd(in, file)) {
                throw new DataException("file " + file + " is corrupt: it has more data than its header's " + count
                        + " labels");
            }
            int[] labels = new int[count];
            for (int i = 0; i < count; i++) {
                labels[i] = raw[i] & 0xFF;
            }
            return labels;
        } catch (IOException e) {
            throw DataFiles.cannotRead(file, e);
        }
    }

    private static void checkMagic(Path file, boolean gzip, int magic, int expected, String what) {
        if (magic == expected) {
            return;
        }
        String hint = "";
        if (!gzip && file.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gz")) {
            hint = "; the file is named .gz but is not gzip-compressed";
        } else if (magic == IMAGES_MAGIC || magic == LABELS_MAGIC) {
            hint = "; this looks like an IDX " + (magic == IMAGES_MAGIC ? "images" : "labels") + " file";
        }
        throw new DataException(String.format(Locale.ROOT,
                "file %s has bad magic number 0x%08X, expected 0x%08X (IDX %s)%s", file, magic, expected, what, hint));
    }

    /** Rejects headers that promise more data than an array can hold or than the file can contain. */
    private static void checkLength(Path file, boolean gzip, int header, long bytes, String what) {
        if (bytes > Integer.MAX_VALUE - 16) {
            throw new DataException("file " + file + ": " + what + " (" + bytes + " bytes) is too large to load");
        }
        long size = DataFiles.size(file);
        if (!gzip && size != header + bytes) {
            throw new DataException("file " + file + " is " + (size < header + bytes ? "truncated" : "corrupt")
                    + ": its header announces " + what + ", which needs " + (header + bytes)
                    + " bytes, but the file has " + size);
        }
        if (gzip && bytes > size * MAX_GZIP_RATIO + 1024) {
            throw new DataException("file " + file + " is corrupt or truncated: its header announces " + what
                    + " but the compressed file has only " + size + " bytes");
        }
    }

    private static void checkCount(Path images, int imageCount, Path labels, int labelCount) {
        if (imageCount != labelCount) {
            throw new DataException("count mismatch: " + images + " has " + imageCount + " images but " + labels
                    + " has " + labelCount + " labels");
        }
    }

    /**
     * From {@code classes.txt} when the folder has one; else the Fashion-MNIST names when the folder's name
     * contains "fashion"; else "0", "1", ... up to the largest label.
     */
    private static List<String> classNames(Path folder, int[] trainY, int[] testY) {
        Path listed = folder.resolve("classes.txt");
        if (Files.isRegularFile(listed)) {
            return DataFiles.readNames(listed);
        }
        Path name = folder.toAbsolutePath().normalize().getFileName();
        if (name != null && name.toString().toLowerCase(Locale.ROOT).contains("fashion")) {
            return FASHION_CLASSES;
        }
        int max = 0;
        for (int y : trainY) {
            max = Math.max(max, y);
        }
        for (int y : testY) {
            max = Math.max(max, y);
        }
        List<String> names = new ArrayList<>();
        for (int k = 0; k <= max; k++) {
            names.add(Integer.toString(k));
        }
        return names;
    }

    private static void checkLabels(Path file, int[] labels, List<String> classes) {
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] >= classes.size()) {
                throw new DataException("file " + file + ": label " + labels[i] + " of sample " + i
                        + " is out of range: the dataset has " + classes.size() + " classes (0.."
                        + (classes.size() - 1) + ")" + (Files.isRegularFile(file.resolveSibling("classes.txt"))
                                ? ", as classes.txt lists" : ""));
            }
        }
    }
}
