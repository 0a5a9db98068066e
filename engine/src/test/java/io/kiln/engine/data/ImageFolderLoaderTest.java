package io.kiln.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderLoaderTest {
    @TempDir
    Path root;

    @Test
    void greyPngsGiveOneChannel() throws IOException {
        Path dir = root.resolve("shapes");
        DataFixtures.writeImage(dir.resolve("train/square/b.png"), DataFixtures.grey(5, 4, 20), "png");
        DataFixtures.writeImage(dir.resolve("train/square/a.png"), DataFixtures.grey(5, 4, 10), "png");
        DataFixtures.writeImage(dir.resolve("train/circle/x.PNG"), DataFixtures.grey(5, 4, 30), "png");
        Files.writeString(dir.resolve("train/circle/notes.txt"), "ignored");
        DataFixtures.writeImage(dir.resolve("test/square/t.png"), DataFixtures.grey(5, 4, 40), "png");

        LoadedData data = DatasetLoader.load(root, "shapes");
        assertEquals("image-folders", data.format());
        Dataset train = data.train();
        assertEquals(List.of("circle", "square"), train.classNames());
        assertArrayEquals(new int[] {1, 4, 5}, train.sampleShape());
        assertEquals(3, train.size());
        assertArrayEquals(new int[] {0, 1, 1}, train.labels());
        assertArrayEquals(new int[] {1}, data.test().labels());
        // class folders sorted, files sorted: circle/x (30), square/a (10), square/b (20)
        int[] bases = {30, 10, 20};
        for (int i = 0; i < 3; i++) {
            for (int y = 0; y < 4; y++) {
                for (int x = 0; x < 5; x++) {
                    assertEquals(bases[i] + 10 * y + x, train.pixel(i, 0, y, x), "sample " + i);
                }
            }
        }
        float[] v = new float[20];
        data.test().copySample(0, v, 0);
        assertEquals((40 + 10 * 3 + 4) / 255f, v[19], 1e-7f);
    }

    @Test
    void anyColourImageMakesThreeChannels() throws IOException {
        Path dir = root.resolve("mixed");
        DataFixtures.writeImage(dir.resolve("train/a/1.png"), DataFixtures.grey(3, 2, 50), "png");
        DataFixtures.writeImage(dir.resolve("train/b/1.png"), DataFixtures.rgb(3, 2, 200, 100, 7), "png");
        DataFixtures.writeImage(dir.resolve("test/a/1.png"), DataFixtures.grey(3, 2, 60), "png");
        LoadedData data = DatasetLoader.load(dir);
        Dataset train = data.train();
        assertArrayEquals(new int[] {3, 2, 3}, train.sampleShape());
        assertArrayEquals(new int[] {3, 2, 3}, data.test().sampleShape());
        // grey image repeated in all three channels
        for (int c = 0; c < 3; c++) {
            assertEquals(50 + 10 + 2, train.pixel(0, c, 1, 2));
        }
        // colour image planes: R, G, B
        assertEquals(200 + 2, train.pixel(1, 0, 1, 2));
        assertEquals(100 + 1, train.pixel(1, 1, 1, 2));
        assertEquals(7, train.pixel(1, 2, 1, 2));
    }

    @Test
    void jpegImagesAreRead() throws IOException {
        Path dir = root.resolve("jpegs");
        DataFixtures.writeImage(dir.resolve("train/a/1.jpg"), DataFixtures.rgb(8, 8, 100, 50, 20), "jpg");
        DataFixtures.writeImage(dir.resolve("train/b/1.jpeg"), DataFixtures.rgb(8, 8, 10, 200, 90), "jpeg");
        DataFixtures.writeImage(dir.resolve("test/b/2.jpg"), DataFixtures.rgb(8, 8, 10, 200, 90), "jpg");
        LoadedData data = DatasetLoader.load(dir);
        assertArrayEquals(new int[] {3, 8, 8}, data.train().sampleShape());
        assertEquals(2, data.train().numClasses());
        // lossy: only roughly the written colour
        assertEquals(200, data.test().pixel(0, 1, 0, 0), 12);
        assertEquals(90, data.test().pixel(0, 2, 0, 0), 12);
    }

    @Test
    void mismatchedSizeNamesTheFileAndBothSizes() throws IOException {
        Path dir = root.resolve("sizes");
        DataFixtures.writeImage(dir.resolve("train/a/1.png"), DataFixtures.grey(6, 6, 0), "png");
        DataFixtures.writeImage(dir.resolve("train/a/2.png"), DataFixtures.grey(6, 6, 0), "png");
        DataFixtures.writeImage(dir.resolve("train/b/1.png"), DataFixtures.grey(7, 6, 0), "png");
        DataFixtures.writeImage(dir.resolve("test/a/1.png"), DataFixtures.grey(6, 6, 0), "png");
        DataFixtures.assertLoadFails(dir,
                dir.resolve("train/b/1.png").toString() + " is 7x6",
                dir.resolve("train/a/1.png").toString() + " is 6x6");
    }

    @Test
    void testClassesMustBeTrainingClasses() throws IOException {
        Path dir = root.resolve("classes");
        DataFixtures.writeImage(dir.resolve("train/cat/1.png"), DataFixtures.grey(2, 2, 0), "png");
        DataFixtures.writeImage(dir.resolve("test/dog/1.png"), DataFixtures.grey(2, 2, 0), "png");
        DataFixtures.assertLoadFails(dir, "test class folder " + dir.resolve("test/dog"), "training classes: cat");
    }

    @Test
    void unreadableImage() throws IOException {
        Path dir = root.resolve("broken");
        DataFixtures.writeImage(dir.resolve("train/a/1.png"), DataFixtures.grey(2, 2, 0), "png");
        Files.writeString(dir.resolve("train/a/2.png"), "not an image");
        DataFixtures.writeImage(dir.resolve("test/a/1.png"), DataFixtures.grey(2, 2, 0), "png");
        DataFixtures.assertLoadFails(dir, dir.resolve("train/a/2.png").toString());
    }

    @Test
    void missingTestFolder() throws IOException {
        Path dir = root.resolve("notest");
        DataFixtures.writeImage(dir.resolve("train/a/1.png"), DataFixtures.grey(2, 2, 0), "png");
        DataFixtures.assertLoadFails(dir, "has no test/ folder");
    }
}
