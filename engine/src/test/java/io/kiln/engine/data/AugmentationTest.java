package io.kiln.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AugmentationTest {
    /** One 1x3x4 image with pixel values 1..12 (so every position is recognisable). */
    static Dataset image() {
        byte[] px = new byte[12];
        for (int i = 0; i < 12; i++) {
            px[i] = (byte) (i + 1);
        }
        return Dataset.of(px, new int[] {0}, new int[] {1, 3, 4}, List.of("a")).withNormalization(Normalization.none());
    }

    static float[] sample(Dataset d) {
        float[] x = new float[12];
        d.copySample(0, x, 0);
        return x;
    }

    @Test
    void flipOnlyMirrorsOrKeeps() {
        Dataset d = image();
        Augmentation a = new Augmentation(0, true, d);
        float[] original = sample(d);
        float[] mirrored = {4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9};
        Set<String> seen = new HashSet<>();
        for (long key = 0; key < 64; key++) {
            float[] x = sample(d);
            a.apply(x, 0, key);
            boolean same = java.util.Arrays.equals(x, original);
            assertTrue(same || java.util.Arrays.equals(x, mirrored), "flip gives the image or its mirror");
            seen.add(same ? "same" : "mirrored");
        }
        assertEquals(2, seen.size(), "both outcomes occur over 64 keys");
    }

    @Test
    void cropShiftsWithinThePaddingAndPadsWithBlack() {
        Dataset d = image();
        Augmentation a = new Augmentation(1, false, d);
        Set<String> shifts = new HashSet<>();
        for (long key = 0; key < 200; key++) {
            float[] x = sample(d);
            a.apply(x, 0, key);
            // Find the shift: pixel value v at (y, x) came from ((v-1)/4, (v-1)%4).
            int dy = Integer.MIN_VALUE;
            int dx = Integer.MIN_VALUE;
            for (int p = 0; p < 12; p++) {
                if (x[p] != 0) {
                    int v = (int) x[p] - 1;
                    dy = v / 4 - p / 4;
                    dx = v % 4 - p % 4;
                    break;
                }
            }
            assertTrue(Math.abs(dy) <= 1 && Math.abs(dx) <= 1, "shift within the padding");
            for (int p = 0; p < 12; p++) {
                int sy = p / 4 + dy;
                int sx = p % 4 + dx;
                float expected = sy < 0 || sy >= 3 || sx < 0 || sx >= 4 ? 0 : sy * 4 + sx + 1;
                assertEquals(expected, x[p], "pixel " + p + " for shift " + dy + "," + dx);
            }
            shifts.add(dy + "," + dx);
        }
        assertEquals(9, shifts.size(), "all nine shifts occur");
    }

    @Test
    void sameKeySameResult() {
        Dataset d = image();
        Augmentation a = new Augmentation(2, true, d);
        float[] x = sample(d);
        float[] y = sample(d);
        a.apply(x, 0, 12345);
        a.apply(y, 0, 12345);
        assertArrayEquals(x, y);
    }

    @Test
    void padValueIsNormalisedBlack() {
        Dataset d = image().withNormalization(Normalization.standardize(new float[] {0.5f}, new float[] {0.25f}));
        Augmentation a = new Augmentation(3, false, d);
        float black = (0 - 0.5f) / 0.25f;
        boolean sawPad = false;
        for (long key = 0; key < 20 && !sawPad; key++) {
            float[] x = sample(d);
            a.apply(x, 0, key);
            for (float v : x) {
                sawPad |= v == black;
            }
        }
        assertTrue(sawPad, "padding takes the value of a normalised black pixel");
    }
}
