package io.kiln.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** data.resize (bilinear, the filter of data.transform) and data.pad, for IDX, CIFAR-10 binary and image folders. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ResizePadTest {
    @TempDir
    Path root;

    /** One grey w x h image whose pixel (x, y) is 10 * x + y. */
    static Dataset ramp(int w, int h) {
        byte[] px = new byte[w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                px[y * w + x] = (byte) (10 * x + y);
            }
        }
        return Dataset.of(px, new int[] {0}, new int[] {1, h, w}, List.of("a"));
    }

    @Test
    void imagesTooManyForOneArrayAreRefusedNamingTheSettingThatShrinksThem() {
        assertEquals(2 * 3 * 4 * 5, Dataset.allocatePixels(2, new int[] {3, 4, 5}, "data.resize").length);
        DataException e = assertThrows(DataException.class,
                () -> Dataset.allocatePixels(1000, new int[] {3, 1000, 1000}, "data.resize or data.pad"));
        assertTrue(e.getMessage().contains("1000 images of 1000x1000 are too many to load (3000000000 bytes)")
                && e.getMessage().endsWith("use a smaller data.resize or data.pad"), e.getMessage());
    }

    @Test
    void resizingARampKeepsItLinearInside() {
        // 8 columns stretched to 16: output column i samples the source at (i + 0.5) / 2 - 0.5, so 10 * that.
        Dataset out = new ResizePad(new int[] {4, 16}, 0).apply(ramp(8, 4));
        assertArrayEquals(new int[] {1, 4, 16}, out.sampleShape());
        for (int i = 2; i < 14; i++) {
            double x = (i + 0.5) / 2 - 0.5;
            assertEquals(10 * x, out.pixel(0, 0, 0, i), 1.0, "column " + i);
        }
        // rows were not resized: row y keeps its + y
        assertEquals(out.pixel(0, 0, 0, 7) + 3, out.pixel(0, 0, 3, 7), 1);
    }

    @Test
    void padAddsZerosAroundTheImageAsItIs() {
        Dataset in = ramp(5, 3);
        Dataset out = new ResizePad(null, 2).apply(in);
        assertArrayEquals(new int[] {1, 7, 9}, out.sampleShape());
        for (int y = 0; y < 7; y++) {
            for (int x = 0; x < 9; x++) {
                boolean inside = y >= 2 && y < 5 && x >= 2 && x < 7;
                assertEquals(inside ? in.pixel(0, 0, y - 2, x - 2) : 0, out.pixel(0, 0, y, x), "(" + x + ", " + y + ")");
            }
        }
        assertSame(in, new ResizePad(new int[] {3, 5}, 0).apply(in), "already that size: nothing to do");
    }

    @Test
    void idxImagesAreResizedThenPadded() throws IOException {
        byte[] train = DataFixtures.pattern(3, 28 * 28, 1);
        byte[] test = new byte[2 * 28 * 28];
        java.util.Arrays.fill(test, (byte) 200);
        DataFixtures.writeIdx(root.resolve("mnist"), 28, 28, train, new int[] {1, 2, 3}, test, new int[] {4, 5}, true);
        LoadedData data = DatasetLoader.load(root, "mnist", null, new ResizePad(new int[] {30, 30}, 1));
        assertArrayEquals(new int[] {1, 32, 32}, data.train().sampleShape());
        assertArrayEquals(new int[] {1, 32, 32}, data.test().sampleShape());
        assertArrayEquals(new int[] {1, 2, 3}, data.train().labels());
        assertArrayEquals(new int[] {4, 5}, data.test().labels());
        // a flat grey image stays that grey when resized, inside its border of zeros
        assertEquals(200, data.test().pixel(1, 0, 1, 1));
        assertEquals(200, data.test().pixel(1, 0, 30, 30));
        assertEquals(200, data.test().pixel(1, 0, 15, 17));
        assertEquals(0, data.test().pixel(1, 0, 0, 5));
        assertEquals(0, data.test().pixel(1, 0, 31, 5));
    }

    @Test
    void cifarImagesAreResizedPerChannel() throws IOException {
        Path dir = root.resolve("cifar");
        DataFixtures.writeCifarBatch(dir, "data_batch_1.bin", new int[] {3, 9}, 0);
        DataFixtures.writeCifarBatch(dir, "test_batch.bin", new int[] {7}, 90);
        LoadedData raw = DatasetLoader.load(root, "cifar");
        LoadedData data = DatasetLoader.load(root, "cifar", null, new ResizePad(new int[] {16, 16}, 0));
        assertArrayEquals(new int[] {3, 16, 16}, data.train().sampleShape());
        // halving averages each channel's pixels on its own: a 2x2 block of the source, give or take the filter's reach
        for (int c = 0; c < 3; c++) {
            double block = (raw.train().pixel(1, c, 10, 10) + raw.train().pixel(1, c, 10, 11)
                    + raw.train().pixel(1, c, 11, 10) + raw.train().pixel(1, c, 11, 11)) / 4.0;
            double min = 255;
            double max = 0;
            for (int y = 9; y <= 12; y++) {
                for (int x = 9; x <= 12; x++) {
                    min = Math.min(min, raw.train().pixel(1, c, y, x));
                    max = Math.max(max, raw.train().pixel(1, c, y, x));
                }
            }
            int v = data.train().pixel(1, c, 5, 5);
            assertTrue(v >= min - 1 && v <= max + 1, "channel " + c + ": " + v + " within [" + min + ", " + max + "], block mean " + block);
        }
    }

    @Test
    void imageFoldersOfSeveralSizesLoadWhenResized() throws IOException {
        Path dir = root.resolve("shapes");
        DataFixtures.writeImage(dir.resolve("train/a/1.png"), DataFixtures.grey(20, 10, 0), "png");
        DataFixtures.writeImage(dir.resolve("train/b/2.png"), DataFixtures.grey(12, 12, 50), "png");
        DataFixtures.writeImage(dir.resolve("test/a/3.png"), DataFixtures.grey(30, 40, 9), "png");
        DataException e = assertThrows(DataException.class, () -> DatasetLoader.load(root, "shapes"));
        assertTrue(e.getMessage().contains("data.resize"), e.getMessage());
        LoadedData data = DatasetLoader.load(root, "shapes", null, new ResizePad(new int[] {8, 6}, 1));
        assertArrayEquals(new int[] {1, 10, 8}, data.train().sampleShape());
        assertEquals(2, data.train().size());
        assertEquals(1, data.test().size());
        assertEquals(0, data.train().pixel(0, 0, 0, 0), "the padding");
        assertTrue(data.train().pixel(1, 0, 8, 6) > 50, "the image's own pixels inside");
    }

    @Test
    void outputShapeAndChecks() {
        assertArrayEquals(new int[] {3, 36, 36}, new ResizePad(new int[] {32, 32}, 2).outputShape(new int[] {3, 28, 28}));
        assertArrayEquals(new int[] {3, 28, 28}, new ResizePad(new int[] {32, 32}, 2).unpadded(new int[] {3, 32, 32}));
        assertEquals(null, ResizePad.of(null, 0));
        assertThrows(IllegalArgumentException.class, () -> new ResizePad(new int[] {0, 3}, 0));
    }
}
