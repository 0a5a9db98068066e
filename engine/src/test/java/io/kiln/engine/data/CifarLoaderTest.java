package io.kiln.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CifarLoaderTest {
    @TempDir
    Path root;

    @Test
    void readsBatchesInOrderWithChannelPlanes() throws IOException {
        Path dir = root.resolve("cifar");
        // batches 1 and 3 exist (2 is missing): read 1 then 3
        DataFixtures.writeCifarBatch(dir, "data_batch_1.bin", new int[] {3, 9}, 0);
        DataFixtures.writeCifarBatch(dir, "data_batch_3.bin", new int[] {0}, 50);
        DataFixtures.writeCifarBatch(dir, "test_batch.bin", new int[] {7, 1, 2}, 90);
        LoadedData data = DatasetLoader.load(root, "cifar");
        assertEquals("cifar10-binary", data.format());
        Dataset train = data.train();
        assertEquals(3, train.size());
        assertEquals(3, data.test().size());
        assertArrayEquals(new int[] {3, 32, 32}, train.sampleShape());
        assertArrayEquals(new int[] {3, 9, 0}, train.labels());
        assertArrayEquals(new int[] {7, 1, 2}, data.test().labels());
        assertEquals(CifarFormat.CLASSES, train.classNames());
        assertEquals("airplane", train.classNames().get(0));

        byte[] first = DataFixtures.pattern(2, 3072, 0);
        byte[] third = DataFixtures.pattern(1, 3072, 50);
        byte[] raw = new byte[3072];
        train.copyRaw(1, raw, 0);
        assertArrayEquals(Arrays.copyOfRange(first, 3072, 6144), raw);
        train.copyRaw(2, raw, 0);
        assertArrayEquals(third, raw);
        // record layout: 1024 red, 1024 green, 1024 blue, each row-major 32x32
        assertEquals(third[1024 + 5 * 32 + 7] & 0xFF, train.pixel(2, 1, 5, 7));
        assertEquals(third[2048 + 31 * 32 + 31] & 0xFF, train.pixel(2, 2, 31, 31));
        float[] x = new float[3072];
        train.copySample(2, x, 0);
        assertEquals((third[2048] & 0xFF) / 255f, x[2048], 1e-7f);
    }

    @Test
    void subfolderAndMetaNames() throws IOException {
        Path dir = root.resolve("c10").resolve("cifar-10-batches-bin");
        DataFixtures.writeCifarBatch(dir, "data_batch_1.bin", new int[] {0, 1, 2}, 1);
        DataFixtures.writeCifarBatch(dir, "test_batch.bin", new int[] {2}, 2);
        Files.writeString(dir.resolve("batches.meta.txt"), "red\ngreen\nblue\n\n");
        LoadedData data = DatasetLoader.load(root, "c10");
        assertEquals(List.of("red", "green", "blue"), data.train().classNames());
        assertEquals(3, data.train().size());
    }

    @Test
    void lengthNotAMultipleOfTheRecord() throws IOException {
        Path dir = root.resolve("bad");
        DataFixtures.writeCifarBatch(dir, "data_batch_1.bin", new int[] {0, 1}, 1);
        byte[] test = DataFixtures.cifarBatch(new int[] {2, 3}, 2);
        Path testFile = dir.resolve("test_batch.bin");
        Files.write(testFile, Arrays.copyOf(test, test.length - 100));
        DataFixtures.assertLoadFails(dir, testFile.toString(), "not a multiple of 3073");
    }

    @Test
    void labelOutOfRange() throws IOException {
        Path dir = root.resolve("labels");
        DataFixtures.writeCifarBatch(dir, "data_batch_1.bin", new int[] {0, 10}, 1);
        DataFixtures.writeCifarBatch(dir, "test_batch.bin", new int[] {2}, 2);
        DataFixtures.assertLoadFails(dir, "data_batch_1.bin", "label 10 of record 1 is out of range");
    }

    @Test
    void missingTestBatch() throws IOException {
        Path dir = root.resolve("notest");
        DataFixtures.writeCifarBatch(dir, "data_batch_1.bin", new int[] {0}, 1);
        DataFixtures.assertLoadFails(dir, "has no test_batch.bin");
    }
}
