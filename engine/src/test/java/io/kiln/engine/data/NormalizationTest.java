package io.kiln.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class NormalizationTest {

    /** Two samples of [2, 1, 2]: channel 0 holds 0,255 / 0,255; channel 1 holds 10,20 / 30,40. */
    private static Dataset twoChannels() {
        byte[] px = {0, (byte) 255, 10, 20, 0, (byte) 255, 30, 40};
        return Dataset.of(px, new int[] {0, 1}, new int[] {2, 1, 2}, List.of("a", "b"));
    }

    @Test
    void scaleIsTheDefault() {
        Dataset d = twoChannels();
        assertEquals(Normalization.scale(), d.normalization());
        float[] x = new float[4];
        d.copySample(1, x, 0);
        assertArrayEquals(new float[] {0f, 1f, 30 / 255f, 40 / 255f}, x, 1e-7f);
    }

    @Test
    void noneKeepsRawValues() {
        float[] x = new float[4];
        twoChannels().withNormalization(Normalization.none()).copySample(0, x, 0);
        assertArrayEquals(new float[] {0, 255, 10, 20}, x);
    }

    @Test
    void standardizeWithGivenMeanAndStd() {
        Normalization n = Normalization.standardize(new float[] {0.5f, 0.1f}, new float[] {0.5f, 0.2f});
        Dataset d = twoChannels().withNormalization(n);
        float[] x = new float[4];
        d.copySample(0, x, 0);
        assertEquals(-1f, x[0], 1e-6f);
        assertEquals(1f, x[1], 1e-6f);
        assertEquals((10 / 255f - 0.1f) / 0.2f, x[2], 1e-6f);
        assertEquals((20 / 255f - 0.1f) / 0.2f, x[3], 1e-6f);
        // one entry applies to every channel
        Dataset one = twoChannels().withNormalization(
                Normalization.standardize(new float[] {0.5f}, new float[] {0.25f}));
        one.copySample(1, x, 0);
        assertEquals((30 / 255f - 0.5f) / 0.25f, x[2], 1e-6f);
    }

    @Test
    void computedStandardizationGivesZeroMeanUnitStd() {
        Dataset d = twoChannels();
        Normalization n = Normalization.computeStandardization(d);
        assertEquals(Normalization.Kind.STANDARDIZE, n.kind());
        assertEquals(0.5f, n.mean()[0], 1e-6f);
        assertEquals(0.5f, n.std()[0], 1e-6f);
        assertEquals(25 / 255f, n.mean()[1], 1e-6f);
        assertEquals((float) (Math.sqrt(125) / 255), n.std()[1], 1e-6f);
        Dataset s = d.withNormalization(n);
        double[] sum = new double[2];
        double[] sq = new double[2];
        float[] x = new float[4];
        for (int i = 0; i < 2; i++) {
            s.copySample(i, x, 0);
            for (int p = 0; p < 4; p++) {
                sum[p / 2] += x[p];
                sq[p / 2] += x[p] * x[p];
            }
        }
        for (int c = 0; c < 2; c++) {
            assertEquals(0, sum[c] / 4, 1e-5);
            assertEquals(1, sq[c] / 4, 1e-5);
        }
    }

    @Test
    void computedFromASubsetUsesOnlyThatSubset() {
        Dataset d = twoChannels();
        Normalization n = Normalization.computeStandardization(d.subset(new int[] {1}));
        assertEquals(35 / 255f, n.mean()[1], 1e-6f);
        // channel 0 of sample 1 is 0 and 255: std 0.5
        assertEquals(0.5f, n.std()[0], 1e-6f);
    }

    @Test
    void constantChannelGetsUnitStd() {
        Dataset d = Dataset.of(new byte[] {7, 7, 7, 7}, new int[] {0, 0}, new int[] {1, 1, 2}, List.of("a"));
        assertEquals(1f, Normalization.computeStandardization(d).std()[0]);
    }

    @Test
    void fromSpecModes() {
        Dataset d = twoChannels();
        assertSame(Normalization.none(), Normalization.of("none", null, null, d));
        assertSame(Normalization.scale(), Normalization.of("scale", null, null, d));
        assertSame(Normalization.scale(), Normalization.of(null, null, null, d));
        assertEquals(Normalization.computeStandardization(d), Normalization.of("standardize", null, null, d));
        Normalization given = Normalization.of("standardize", new float[] {0.1f, 0.2f}, new float[] {1, 2}, d);
        assertArrayEquals(new float[] {0.1f, 0.2f}, given.mean());
        DataException e = assertThrows(DataException.class, () -> Normalization.of("whiten", null, null, d));
        assertTrue(e.getMessage().contains("whiten"), e.getMessage());
    }

    @Test
    void rejectsBadArguments() {
        assertThrows(IllegalArgumentException.class,
                () -> Normalization.standardize(new float[] {0.5f}, new float[] {0f}));
        assertThrows(IllegalArgumentException.class,
                () -> Normalization.standardize(new float[] {0.5f, 0.5f}, new float[] {1f}));
        Normalization three = Normalization.standardize(new float[] {0, 0, 0}, new float[] {1, 1, 1});
        DataException e = assertThrows(DataException.class, () -> twoChannels().withNormalization(three));
        assertTrue(e.getMessage().contains("3 entries but the dataset has 2 channels"), e.getMessage());
    }

    @Test
    void withNormalizationSharesTheBytes() {
        Dataset d = twoChannels();
        Dataset n = d.withNormalization(Normalization.none());
        assertNotSame(d, n);
        assertTrue(n.sharesStorageWith(d));
        assertEquals(Normalization.scale(), d.normalization());
    }
}
