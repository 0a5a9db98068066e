package io.kiln.engine.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The CIFAR-10 binary format: {@code data_batch_1.bin} ... {@code data_batch_5.bin} (whichever exist, in that
 * order) for training and {@code test_batch.bin}, in the dataset folder or its {@code cifar-10-batches-bin/}
 * subfolder. Each record is one label byte and 3072 pixel bytes: the 1024 red, then green, then blue values of
 * a 32x32 image, rows first, which is already the {@code [3, 32, 32]} layout of {@link Dataset}.
 */
final class CifarFormat {
    static final int SIDE = 32;
    static final int PIXELS = 3 * SIDE * SIDE;
    static final int RECORD = 1 + PIXELS;
    static final int TRAIN_BATCHES = 5;
    static final String SUBFOLDER = "cifar-10-batches-bin";
    static final String TEST_FILE = "test_batch.bin";
    static final List<String> CLASSES = List.of("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
            "horse", "ship", "truck");

    private CifarFormat() {
    }

    /** The folder holding the batch files (the dataset folder or its cifar-10-batches-bin/), or null. */
    static Path batchFolder(Path folder) {
        for (Path dir : new Path[] {folder, folder.resolve(SUBFOLDER)}) {
            if (Files.isRegularFile(dir.resolve(TEST_FILE)) || !trainFiles(dir).isEmpty()) {
                return dir;
            }
        }
        return null;
    }

    static List<Path> trainFiles(Path dir) {
        List<Path> files = new ArrayList<>();
        for (int k = 1; k <= TRAIN_BATCHES; k++) {
            Path p = dir.resolve("data_batch_" + k + ".bin");
            if (Files.isRegularFile(p)) {
                files.add(p);
            }
        }
        return files;
    }

    static LoadedData load(Path folder) {
        Path dir = batchFolder(folder);
        if (dir == null) {
            throw new DataException("no CIFAR-10 batch files in " + folder);
        }
        List<Path> train = trainFiles(dir);
        Path test = dir.resolve(TEST_FILE);
        if (train.isEmpty()) {
            throw new DataException("CIFAR-10 dataset " + dir + " has no training batches (data_batch_1.bin ... "
                    + "data_batch_5.bin); it contains: " + DataFiles.describeContents(dir, 30));
        }
        if (!Files.isRegularFile(test)) {
            throw new DataException("CIFAR-10 dataset " + dir + " has no " + TEST_FILE + "; it contains: "
                    + DataFiles.describeContents(dir, 30));
        }
        List<String> classes = classNames(dir, folder);
        int[] shape = {3, SIDE, SIDE};
        Dataset trainSet = read(train, classes, shape);
        Dataset testSet = read(List.of(test), classes, shape);
        return new LoadedData(trainSet, testSet, DatasetLoader.FORMAT_CIFAR10);
    }

    private static List<String> classNames(Path dir, Path folder) {
        for (Path p : new Path[] {dir.resolve("batches.meta.txt"), folder.resolve("batches.meta.txt")}) {
            if (Files.isRegularFile(p)) {
                return DataFiles.readNames(p);
            }
        }
        return CLASSES;
    }

    private static Dataset read(List<Path> files, List<String> classes, int[] shape) {
        long total = 0;
        for (Path f : files) {
            long size = DataFiles.size(f);
            if (size == 0 || size % RECORD != 0) {
                throw new DataException("file " + f + " has length " + size + ", which is not a"
                        + (size == 0 ? " positive" : "") + " multiple of " + RECORD
                        + " (1 label byte + 3072 pixel bytes per image): it is truncated or not a CIFAR-10 binary"
                        + " batch");
            }
            total += size / RECORD;
        }
        if (total * PIXELS > Integer.MAX_VALUE - 16) {
            throw new DataException("CIFAR-10 batches " + files + " hold " + total + " images, too many to load");
        }
        int n = (int) total;
        byte[] pixels = new byte[n * PIXELS];
        int[] labels = new int[n];
        byte[] label = new byte[1];
        int i = 0;
        for (Path f : files) {
            int records = (int) (DataFiles.size(f) / RECORD);
            try (InputStream in = DataFiles.open(f, false)) {
                for (int r = 0; r < records; r++, i++) {
                    DataFiles.readFully(in, label, 0, 1, f, "the label of record " + r);
                    int y = label[0] & 0xFF;
                    if (y >= classes.size()) {
                        throw new DataException("file " + f + ": label " + y + " of record " + r
                                + " is out of range: the dataset has " + classes.size() + " classes (0.."
                                + (classes.size() - 1) + ")");
                    }
                    labels[i] = y;
                    DataFiles.readFully(in, pixels, i * PIXELS, PIXELS, f, "the pixels of record " + r);
                }
            } catch (IOException e) {
                throw DataFiles.cannotRead(f, e);
            }
        }
        return Dataset.of(pixels, labels, shape, classes);
    }
}
