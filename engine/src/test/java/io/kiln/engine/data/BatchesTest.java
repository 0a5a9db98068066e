package io.kiln.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class BatchesTest {

    @Test
    void permutationIsDeterministicAndComplete() {
        int[] a = Batches.permutation(1000, 5, 3);
        assertArrayEquals(a, Batches.permutation(1000, 5, 3));
        assertFalse(Arrays.equals(a, Batches.permutation(1000, 5, 4)), "epochs differ");
        assertFalse(Arrays.equals(a, Batches.permutation(1000, 6, 3)), "seeds differ");
        int[] sorted = a.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) {
            assertEquals(i, sorted[i]);
        }
    }

    @Test
    void batchesCoverEverySampleOnceAndKeepTheLastSmallBatch() {
        Dataset d = DataFixtures.synthetic(103, 1, 2, 3, 7);
        Batches batches = new Batches(d, 10, true, 11);
        assertEquals(11, batches.count());
        assertEquals(10, batches.size(0));
        assertEquals(3, batches.size(10));
        Batches.Epoch e = batches.epoch(2);
        int[] order = e.order();
        assertArrayEquals(order, batches.epoch(2).order());
        int[] seen = new int[103];
        float[] x = new float[10 * d.sampleSize()];
        float[] y = new float[10];
        float[] expected = new float[d.sampleSize()];
        int total = 0;
        for (int b = 0; b < e.count(); b++) {
            int n = e.fill(b, x, y);
            assertEquals(b == 10 ? 3 : 10, n);
            for (int k = 0; k < n; k++) {
                int sample = order[b * 10 + k];
                seen[sample]++;
                assertEquals(d.label(sample), y[k]);
                d.copySample(sample, expected, 0);
                assertArrayEquals(expected, Arrays.copyOfRange(x, k * d.sampleSize(), (k + 1) * d.sampleSize()));
            }
            total += n;
        }
        assertEquals(103, total);
        for (int c : seen) {
            assertEquals(1, c);
        }
    }

    @Test
    void withoutShuffleTheOrderIsTheDatasets() {
        Dataset d = DataFixtures.synthetic(5, 1, 1, 1, 2);
        Batches batches = new Batches(d, 2, false, 1);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, batches.order(7));
        float[] x = new float[2];
        float[] y = new float[2];
        assertEquals(1, batches.fill(batches.order(0), 2, x, y));
        assertEquals(d.label(4), y[0]);
    }

    @Test
    void largeBatchesFillInParallelWithTheSameResult() {
        Dataset d = DataFixtures.synthetic(300, 3, 16, 16, 10);
        Batches batches = new Batches(d, 256, true, 1);
        int[] order = batches.order(0);
        float[] x = new float[256 * d.sampleSize()];
        batches.fill(order, 0, x, null);
        float[] one = new float[d.sampleSize()];
        for (int k = 0; k < 256; k += 37) {
            d.copySample(order[k], one, 0);
            assertArrayEquals(one, Arrays.copyOfRange(x, k * d.sampleSize(), (k + 1) * d.sampleSize()));
        }
    }

    @Test
    void rejectsTooSmallBuffers() {
        Dataset d = DataFixtures.synthetic(10, 1, 2, 2, 2);
        Batches batches = new Batches(d, 4, true, 1);
        assertThrows(IllegalArgumentException.class, () -> batches.fill(batches.order(0), 0, new float[15], null));
        assertThrows(IndexOutOfBoundsException.class, () -> batches.size(3));
        assertThrows(IllegalArgumentException.class, () -> new Batches(d, 0, true, 1));
    }
}
