package io.kiln.engine.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Loads the real Fashion-MNIST from the shared data folder, when there is one. */
class FashionMnistTest {

    @Test
    void loadsTheRealFashionMnist() {
        Path data = DataFixtures.sharedData();
        assumeTrue(Files.isDirectory(data.resolve("fashion-mnist")),
                "shared data folder " + data.resolve("fashion-mnist") + " is missing; skipping the real-data test");
        long t0 = System.nanoTime();
        LoadedData loaded = DatasetLoader.load(data, "fashion-mnist");
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("loaded Fashion-MNIST in %.2f s%n", seconds);

        assertEquals("idx", loaded.format());
        Dataset train = loaded.train();
        Dataset test = loaded.test();
        assertEquals(60000, train.size());
        assertEquals(10000, test.size());
        assertArrayEquals(new int[] {1, 28, 28}, train.sampleShape());
        assertEquals(10, train.numClasses());
        assertEquals("Ankle boot", train.classNames().get(9));
        int[] trainCounts = train.classCounts();
        int[] testCounts = test.classCounts();
        for (int k = 0; k < 10; k++) {
            assertEquals(6000, trainCounts[k], "training samples of class " + k);
            assertEquals(1000, testCounts[k], "test samples of class " + k);
        }
        // the published first training label is 9 (ankle boot), the first test label is 9 too
        assertEquals(9, train.label(0));
        assertEquals(9, test.label(0));
        // mean pixel of the training set is about 0.286 (std about 0.353), as commonly quoted
        Normalization n = Normalization.computeStandardization(train);
        assertEquals(0.2860, n.mean()[0], 0.001);
        assertEquals(0.3530, n.std()[0], 0.001);
        assertTrue(seconds < 10, "loading took " + seconds + " s");
    }
}
