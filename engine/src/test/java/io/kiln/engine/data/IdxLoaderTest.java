package io.kiln.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class IdxLoaderTest {
    @TempDir
    Path root;

    private static final int ROWS = 3;
    private static final int COLS = 4;
    private static final int[] TRAIN_Y = {0, 2, 1, 2, 0};
    private static final int[] TEST_Y = {1, 0};
    private static final byte[] TRAIN_PX = DataFixtures.pattern(TRAIN_Y.length, ROWS * COLS, 1);
    private static final byte[] TEST_PX = DataFixtures.pattern(TEST_Y.length, ROWS * COLS, 100);

    private Path writeDefault(String name, boolean gzip) throws IOException {
        Path dir = root.resolve(name);
        DataFixtures.writeIdx(dir, ROWS, COLS, TRAIN_PX, TRAIN_Y, TEST_PX, TEST_Y, gzip);
        return dir;
    }

    /** Writes {@code file} again as {@code damage} leaves its bytes. */
    private static void damage(Path file, UnaryOperator<byte[]> damage) throws IOException {
        Files.write(file, damage.apply(Files.readAllBytes(file)));
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void readsIdxBackGzipOrRaw(boolean gzip) throws IOException {
        writeDefault("digits", gzip);
        LoadedData data = DatasetLoader.load(root, "digits");
        assertEquals("idx", data.format());
        Dataset train = data.train();
        assertEquals(5, train.size());
        assertEquals(2, data.test().size());
        assertArrayEquals(new int[] {1, ROWS, COLS}, train.sampleShape());
        assertEquals(ROWS * COLS, train.sampleSize());
        assertEquals(List.of("0", "1", "2"), train.classNames());
        assertEquals(3, data.test().numClasses());
        assertArrayEquals(TRAIN_Y, train.labels());
        assertArrayEquals(TEST_Y, data.test().labels());
        for (int i = 0; i < TRAIN_Y.length; i++) {
            float[] x = new float[ROWS * COLS + 2];
            train.copySample(i, x, 2);
            for (int p = 0; p < ROWS * COLS; p++) {
                assertEquals((TRAIN_PX[i * ROWS * COLS + p] & 0xFF) / 255f, x[2 + p], 1e-7f, "sample " + i);
            }
        }
        byte[] raw = new byte[ROWS * COLS];
        data.test().copyRaw(1, raw, 0);
        assertArrayEquals(Arrays.copyOfRange(TEST_PX, ROWS * COLS, 2 * ROWS * COLS), raw);
        // pixel (0, y=1, x=2) of test sample 1
        assertEquals(TEST_PX[ROWS * COLS + COLS + 2] & 0xFF, data.test().pixel(1, 0, 1, 2));
    }

    @Test
    void gzipIsDetectedFromContentNotName() throws IOException {
        Path dir = writeDefault("plain", false);
        // a gzip-compressed file without the .gz suffix still loads
        Path f = dir.resolve("train-images-idx3-ubyte");
        Files.write(f, DataFixtures.gzip(Files.readAllBytes(f)));
        assertEquals(5, DatasetLoader.load(dir).train().size());
    }

    @Test
    void classNamesFromClassesTxt() throws IOException {
        Path dir = writeDefault("letters", true);
        Files.writeString(dir.resolve("classes.txt"), "alpha\nbeta\n\ngamma\ndelta\n");
        LoadedData data = DatasetLoader.load(root, "letters");
        assertEquals(List.of("alpha", "beta", "gamma", "delta"), data.train().classNames());
        assertEquals(4, data.train().numClasses());
    }

    @Test
    void fashionNamesWhenTheFolderSaysFashion() throws IOException {
        writeDefault("my-Fashion-set", true);
        Dataset train = DatasetLoader.load(root, "my-Fashion-set").train();
        assertEquals(10, train.numClasses());
        assertEquals("T-shirt/top", train.classNames().get(0));
        assertEquals("Ankle boot", train.classNames().get(9));
    }

    @Test
    void labelOutOfRangeOfClassesTxt() throws IOException {
        Path dir = writeDefault("few", true);
        Files.writeString(dir.resolve("classes.txt"), "a\nb\n");
        DataException e = assertThrows(DataException.class, () -> DatasetLoader.load(root, "few"));
        assertTrue(e.getMessage().contains("train-labels-idx1-ubyte.gz"), e.getMessage());
        assertTrue(e.getMessage().contains("label 2 of sample 1 is out of range"), e.getMessage());
    }

    @Test
    void badMagicNumber() throws IOException {
        Path dir = writeDefault("magic", true);
        DataFixtures.write(dir.resolve("t10k-labels-idx1-ubyte.gz"), DataFixtures.idxLabels(0x803, 2, TEST_Y), true);
        DataFixtures.assertLoadFails(dir, "t10k-labels-idx1-ubyte.gz",
                "bad magic number 0x00000803, expected 0x00000801");
    }

    @Test
    void namedGzButNotCompressed() throws IOException {
        Path dir = writeDefault("named", true);
        Files.write(dir.resolve("train-images-idx3-ubyte.gz"), "hello, not gzip at all".getBytes());
        DataFixtures.assertLoadFails(dir, "bad magic number", "not gzip-compressed");
    }

    @Test
    void truncatedRawFile() throws IOException {
        Path dir = writeDefault("short", false);
        Path f = dir.resolve("train-images-idx3-ubyte");
        damage(f, all -> Arrays.copyOf(all, all.length - 5));
        DataFixtures.assertLoadFails(dir, f.toString(), "truncated", "5 images of 3x4");
    }

    @Test
    void truncatedGzipFile() throws IOException {
        Path dir = root.resolve("shortgz");
        // enough pixels that the compressed stream is long enough to cut in the middle
        int n = 200;
        int[] y = new int[n];
        byte[] px = new byte[n * 28 * 28];
        new java.util.Random(1).nextBytes(px);
        DataFixtures.writeIdx(dir, 28, 28, px, y, px, y, true);
        Path f = dir.resolve("t10k-images-idx3-ubyte.gz");
        damage(f, all -> Arrays.copyOf(all, all.length / 2));
        DataFixtures.assertLoadFails(dir, f.toString(), "truncated");
    }

    @Test
    void gzipDataShorterThanHeader() throws IOException {
        Path dir = writeDefault("fewpx", true);
        byte[] px = Arrays.copyOf(TRAIN_PX, TRAIN_PX.length - 12);
        DataFixtures.write(dir.resolve("train-images-idx3-ubyte.gz"), DataFixtures.idxImages(0x803, 5, 3, 4, px), true);
        DataFixtures.assertLoadFails(dir, "truncated: expected 60 bytes of pixel data", "found only 48");
    }

    @Test
    void corruptGzip() throws IOException {
        Path dir = writeDefault("corrupt", true);
        Path f = dir.resolve("train-labels-idx1-ubyte.gz");
        damage(f, all -> {
            for (int i = 10; i < all.length - 8; i++) {
                all[i] = (byte) 0xFF;
            }
            return all;
        });
        DataException e = assertThrows(DataException.class, () -> DatasetLoader.load(dir));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("corrupt") || e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void countMismatch() throws IOException {
        Path dir = writeDefault("mismatch", true);
        DataFixtures.write(dir.resolve("train-labels-idx1-ubyte.gz"),
                DataFixtures.idxLabels(0x801, 4, new int[] {0, 1, 2, 0}), true);
        DataFixtures.assertLoadFails(dir, "count mismatch", "has 5 images", "has 4 labels");
    }

    @Test
    void missingTestFiles() throws IOException {
        Path dir = writeDefault("half", true);
        Files.delete(dir.resolve("t10k-images-idx3-ubyte.gz"));
        DataFixtures.assertLoadFails(dir, "missing t10k-images-idx3-ubyte[.gz]");
    }

    @Test
    void trainAndTestSizesMustAgree() throws IOException {
        Path dir = root.resolve("sizes");
        DataFixtures.writeIdx(dir, 3, 4, TRAIN_PX, TRAIN_Y, TEST_PX, TEST_Y, true);
        DataFixtures.write(dir.resolve("t10k-images-idx3-ubyte.gz"),
                DataFixtures.idxImages(0x803, 2, 4, 3, TEST_PX), true);
        DataException e = assertThrows(DataException.class, () -> DatasetLoader.load(dir));
        assertTrue(e.getMessage().contains("3x4") && e.getMessage().contains("4x3"), e.getMessage());
    }

    @Test
    void absurdHeaderIsRejectedBeforeAllocating() throws IOException {
        Path dir = writeDefault("huge", true);
        DataFixtures.write(dir.resolve("train-images-idx3-ubyte.gz"),
                DataFixtures.idxImages(0x803, 1_000_000, 1000, 1000, TRAIN_PX), true);
        DataException e = assertThrows(DataException.class, () -> DatasetLoader.load(dir));
        assertTrue(e.getMessage().contains("too large"), e.getMessage());
        DataFixtures.write(dir.resolve("train-images-idx3-ubyte.gz"),
                DataFixtures.idxImages(0x803, 100_000, 100, 100, TRAIN_PX), true);
        e = assertThrows(DataException.class, () -> DatasetLoader.load(dir));
        assertTrue(e.getMessage().contains("corrupt or truncated"), e.getMessage());
    }

    @Test
    void corruptGzipTrailer() throws IOException {
        Path dir = writeDefault("crc", true);
        Path f = dir.resolve("t10k-labels-idx1-ubyte.gz");
        damage(f, all -> {
            all[all.length - 6] ^= 0x55;
            return all;
        });
        DataFixtures.assertLoadFails(dir, f + " is corrupt");
    }

    @Test
    void dottedMnistNamesAreAccepted() throws IOException {
        Path dir = writeDefault("dotted", false);
        for (String base : new String[] {"train-images", "train-labels", "t10k-images", "t10k-labels"}) {
            String kind = base.endsWith("images") ? "idx3" : "idx1";
            Files.move(dir.resolve(base + "-" + kind + "-ubyte"), dir.resolve(base + "." + kind + "-ubyte"));
        }
        assertEquals(5, DatasetLoader.load(dir).train().size());
    }

    @Test
    void datasetOfChecksItsArguments() {
        List<String> two = List.of("a", "b");
        int[] shape = {1, 1, 2};
        assertThrows(IllegalArgumentException.class, () -> Dataset.of(new byte[4], new int[] {0, 2}, shape, two));
        assertThrows(IllegalArgumentException.class, () -> Dataset.of(new byte[5], new int[] {0, 1}, shape, two));
        assertThrows(IllegalArgumentException.class,
                () -> Dataset.of(new byte[4], new int[] {0, 1}, new int[] {4}, two));
    }
}
