package io.kiln.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DataSplitTest {

    /** Sample i has pixel value i (mod 256) and, through the pattern, a unique identity we can recover. */
    private static Dataset numbered(int n) {
        byte[] px = new byte[n * 2];
        for (int i = 0; i < n; i++) {
            px[2 * i] = (byte) (i >> 8);
            px[2 * i + 1] = (byte) i;
        }
        return Dataset.of(px, new int[n], new int[] {1, 1, 2}, java.util.List.of("only"));
    }

    private static int[] ids(Dataset d) {
        int[] ids = new int[d.size()];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = d.pixel(i, 0, 0, 0) << 8 | d.pixel(i, 0, 0, 1);
        }
        return ids;
    }

    @Test
    void disjointAndCovering() {
        Dataset full = numbered(1000);
        DataSplit s = DataSplit.split(full, 0.1, 42);
        assertEquals(900, s.train().size());
        assertEquals(100, s.validation().size());
        assertTrue(s.train().sharesStorageWith(full));
        Set<Integer> seen = new HashSet<>();
        for (int id : ids(s.train())) {
            assertTrue(seen.add(id));
        }
        for (int id : ids(s.validation())) {
            assertTrue(seen.add(id), "sample " + id + " in both parts");
        }
        assertEquals(1000, seen.size());
        // each part keeps the original order
        int[] t = ids(s.train());
        int[] sorted = t.clone();
        Arrays.sort(sorted);
        assertArrayEquals(sorted, t);
    }

    @Test
    void sameSeedSameSplitOtherSeedOtherSplit() {
        Dataset full = numbered(500);
        int[] a = ids(DataSplit.split(full, 0.2, 3).validation());
        int[] b = ids(DataSplit.split(numbered(500), 0.2, 3).validation());
        int[] c = ids(DataSplit.split(full, 0.2, 4).validation());
        assertArrayEquals(a, b);
        assertFalse(Arrays.equals(a, c));
    }

    @Test
    void zeroFractionMeansNoValidation() {
        Dataset full = numbered(10);
        DataSplit s = DataSplit.split(full, 0, 1);
        assertSame(full, s.train());
        assertNull(s.validation());
        assertFalse(s.hasValidation());
    }

    @Test
    void tinyFractionStillHoldsOneOut() {
        DataSplit s = DataSplit.split(numbered(10), 0.01, 1);
        assertEquals(1, s.validation().size());
        assertEquals(9, s.train().size());
    }

    @Test
    void rejectsBadFractions() {
        Dataset full = numbered(10);
        assertThrows(DataException.class, () -> DataSplit.split(full, 1.0, 1));
        assertThrows(DataException.class, () -> DataSplit.split(full, -0.1, 1));
        assertThrows(DataException.class, () -> DataSplit.split(full, Double.NaN, 1));
        assertThrows(DataException.class, () -> DataSplit.split(numbered(1), 0.5, 1));
    }

    @Test
    void subsetOfSubsetMapsBackToTheOriginal() {
        Dataset full = numbered(20);
        Dataset s = full.subset(new int[] {5, 6, 7, 8}).subset(new int[] {3, 0});
        assertArrayEquals(new int[] {8, 5}, ids(s));
        assertArrayEquals(new int[] {10, 11, 12}, ids(full.range(10, 13)));
        assertThrows(IndexOutOfBoundsException.class, () -> full.subset(new int[] {20}));
    }
}
