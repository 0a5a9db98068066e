package io.kiln.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** torchvision-style Resize + CenterCrop and RandomResizedCrop + flip, and image folders of photos of any size. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ImageTransformTest {
    static final double[] SCALE = {0.08, 1.0};
    static final double[] RATIO = {3.0 / 4.0, 4.0 / 3.0};

    /** A w x h RGB image whose left half is red and right half blue. */
    static SourceImage halves(int w, int h) {
        byte[] px = new byte[3 * w * h];
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int c = x < w / 2 ? 0 : 2;
                px[c * w * h + y * w + x] = (byte) 255;
            }
        }
        return new SourceImage(px, 3, w, h);
    }

    @Test
    void resizeThenCenterCropKeepsTheMiddleAtTheShorterSide() {
        // 200x100 -> shorter side 50 -> 100x50 -> centre 50x50: the original's x in [50, 150), half red, half blue
        ImageTransform t = ImageTransform.evaluation(50, 50);
        byte[] out = new byte[3 * 50 * 50];
        t.evaluate(halves(200, 100), out, 0);
        int plane = 50 * 50;
        for (int y = 0; y < 50; y += 7) {
            assertEquals(255, out[y * 50 + 5] & 0xFF, "red on the left");
            assertEquals(0, out[2 * plane + y * 50 + 5] & 0xFF);
            assertEquals(255, out[2 * plane + y * 50 + 44] & 0xFF, "blue on the right");
            assertEquals(0, out[y * 50 + 44] & 0xFF);
            int boundary = out[y * 50 + 25] & 0xFF;
            assertTrue(boundary > 0 && boundary < 255 || (out[y * 50 + 24] & 0xFF) == 255, "the edge at the centre");
        }
    }

    @Test
    void shrinkingAveragesPixelsInsteadOfSkippingThem() {
        // a 1-pixel checkerboard shrunk 8 times is an even grey, not whichever pixels a point sample would hit
        int w = 64;
        byte[] px = new byte[w * w];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) (((i / w + i % w) % 2) * 255);
        }
        byte[] out = new byte[8 * 8];
        Resampler.resample(px, 1, w, w, 0, 0, w, w, 8, 8, false, out, 0);
        for (byte b : out) {
            assertTrue(Math.abs((b & 0xFF) - 128) <= 4, "grey: " + (b & 0xFF));
        }
    }

    @Test
    void randomResizedCropsCoverTheAllowedAreasAndRatios() {
        ImageTransform t = new ImageTransform(32, 32, true, SCALE, RATIO, true);
        SplittableRandom rng = new SplittableRandom(1);
        double smallest = 1;
        double largest = 0;
        for (int i = 0; i < 2000; i++) {
            double[] box = t.cropBox(120, 80, rng);
            assertTrue(box[0] >= 0 && box[1] >= 0 && box[0] + box[2] <= 120 && box[1] + box[3] <= 80, Arrays.toString(box));
            double area = box[2] * box[3] / (120.0 * 80);
            double aspect = box[2] / box[3];
            assertTrue(area >= 0.07 && area <= 1.0, "area " + area);
            assertTrue(aspect >= 0.7 && aspect <= 1.4, "aspect " + aspect);
            smallest = Math.min(smallest, area);
            largest = Math.max(largest, area);
        }
        assertTrue(smallest < 0.12 && largest > 0.8, "crops span the scale range: " + smallest + " to " + largest);
    }

    @Test
    void trainingDrawsAreAFunctionOfTheKeyAndFlipMirrors() throws IOException {
        Dataset set = transformedFolder(true).train().withNormalization(Normalization.scale());
        ImageTransform t = new ImageTransform(40, 46, true, SCALE, RATIO, true);
        float[] a = new float[set.sampleSize()];
        float[] b = new float[set.sampleSize()];
        t.sample(set, 0, 99, a, 0);
        t.sample(set, 0, 99, b, 0);
        assertArrayEquals(a, b, "the same key draws the same crop");
        t.sample(set, 0, 100, b, 0);
        assertFalse(Arrays.equals(a, b), "another key draws another crop");

        ImageTransform flipOnly = new ImageTransform(40, 46, false, SCALE, RATIO, true);
        float[] stored = new float[set.sampleSize()];
        set.copySample(1, stored, 0);
        int mirrored = 0;
        for (long key = 0; key < 20; key++) {
            flipOnly.sample(set, 1, key, b, 0);
            if (!Arrays.equals(stored, b)) {
                mirrored++;
                for (int y = 0; y < 40; y += 9) {
                    assertEquals(stored[y * 40 + 3], b[y * 40 + 36], "row " + y + " reversed");
                }
            }
        }
        assertTrue(mirrored > 3 && mirrored < 17, "about half are flipped: " + mirrored + " of 20");
    }

    @Test
    void imagesOfDifferentSizesLoadThroughTheTransform() throws IOException {
        LoadedData data = transformedFolder(true);
        assertArrayEquals(new int[] {3, 40, 40}, data.train().sampleShape());
        assertEquals(2, data.train().numClasses());
        assertTrue(data.train().hasSources(), "training images kept for random crops");
        assertFalse(data.test().hasSources(), "test images only as their centre crops");
        assertFalse(transformedFolder(false).train().hasSources(), "without random crops nothing more is kept");
    }

    @Test
    void withoutATransformImagesOfDifferentSizesAreRefusedSayingHowToFixIt() throws IOException {
        Path root = folder();
        DataException e = assertThrows(DataException.class, () -> DatasetLoader.load(root, "insects"));
        assertTrue(e.getMessage().contains("must have the same size, unless data.resize")
                && e.getMessage().contains("data.transform"), e.getMessage());
    }

    @Test
    void transformsApplyToImageFoldersOnly(@TempDir Path root) throws IOException {
        io.kiln.engine.train.TinyData.write(root, "idx", 20, 10, 2, 8, 1);
        DataException e = assertThrows(DataException.class,
                () -> DatasetLoader.load(root, "idx", ImageTransform.evaluation(8, 8)));
        assertTrue(e.getMessage().startsWith("data.transform:") && e.getMessage().contains("idx format"), e.getMessage());
    }

    @Test
    void predictionImagesGetTheEvaluationTransform() throws IOException {
        BufferedImage img = InsectImages.image(true, 90, 60, new SplittableRandom(3));
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        ImageIO.write(img, "png", png);
        ImageTransform t = ImageTransform.evaluation(40, 46);
        Dataset d = ImageSamples.of(java.util.List.of(png.toByteArray()), java.util.List.of("a.png"),
                new int[] {3, 40, 40}, java.util.List.of("ants", "bees"), t);
        byte[] direct = new byte[3 * 40 * 40];
        ImageFolderFormat.Decoded dec = ImageFolderFormat.decode(img);
        t.evaluate(new SourceImage(dec.pixels(), 3, 90, 60), direct, 0);
        byte[] viaSamples = new byte[direct.length];
        d.copyRaw(0, viaSamples, 0);
        assertArrayEquals(direct, viaSamples);
    }

    @TempDir
    Path dir;

    private Path folder() throws IOException {
        if (!java.nio.file.Files.exists(dir.resolve("insects"))) {
            InsectImages.write(dir, "insects", 4, 2, 9);
        }
        return dir;
    }

    private LoadedData transformedFolder(boolean randomCrop) throws IOException {
        return DatasetLoader.load(folder(), "insects", new ImageTransform(40, 46, randomCrop, SCALE, RATIO, true));
    }
}
