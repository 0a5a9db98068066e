package io.kiln.engine.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetLoaderTest {
    @TempDir
    Path root;

    @Test
    void missingFolderListsTheDataRoot() throws IOException {
        Files.createDirectories(root.resolve("mnist"));
        Files.createDirectories(root.resolve("cifar10"));
        Files.writeString(root.resolve("README"), "x");
        DataException e = assertThrows(DataException.class, () -> DatasetLoader.load(root, "fashion"));
        String m = e.getMessage();
        assertTrue(m.contains("dataset \"fashion\" not found"), m);
        assertTrue(m.contains(root.resolve("fashion").toString()), m);
        assertTrue(m.contains("README, cifar10/, mnist/"), m);
    }

    @Test
    void missingDataRoot() {
        Path nowhere = root.resolve("nope");
        DataException e = assertThrows(DataException.class, () -> DatasetLoader.load(nowhere, "x"));
        assertTrue(e.getMessage().contains(nowhere + " does not exist"), e.getMessage());
    }

    @Test
    void emptyDataRoot() {
        DataException e = assertThrows(DataException.class, () -> DatasetLoader.load(root, "x"));
        assertTrue(e.getMessage().contains("it is empty"), e.getMessage());
    }

    @Test
    void namesMustStayUnderTheRoot() {
        for (String bad : new String[] {"../etc", "/tmp", "", "a/../.."}) {
            DataException e = assertThrows(DataException.class, () -> DatasetLoader.load(root, bad), bad);
            assertTrue(e.getMessage().contains("dataset name"), e.getMessage());
        }
    }

    @Test
    void unrecognisedFormatSaysWhatEachExpects() throws IOException {
        Path dir = root.resolve("odd");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("data.csv"), "1,2,3");
        DataException e = assertThrows(DataException.class, () -> DatasetLoader.load(root, "odd"));
        String m = e.getMessage();
        assertTrue(m.contains("no recognisable dataset format in " + dir), m);
        assertTrue(m.contains("data.csv"), m);
        assertTrue(m.contains("train-images-idx3-ubyte"), m);
        assertTrue(m.contains("data_batch_1.bin"), m);
        assertTrue(m.contains("train/<class>/*.png|jpg|jpeg"), m);
        assertNull(DatasetLoader.detect(dir));
    }

    @Test
    void prepareSplitsAndStandardizesFromTheTrainingPartOnly() throws IOException {
        Path dir = root.resolve("small");
        int n = 40;
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % 4;
        }
        DataFixtures.writeIdx(dir, 2, 2, DataFixtures.pattern(n, 4, 5), y, DataFixtures.pattern(8, 4, 9),
                new int[8], true);
        LoadedData data = DatasetLoader.load(root, "small");
        PreparedData p = data.prepare(0.25, 7, "standardize", null, null);
        assertEquals(30, p.train().size());
        assertEquals(10, p.validation().size());
        assertEquals(8, p.test().size());
        assertEquals(Normalization.computeStandardization(p.train()), p.normalization());
        assertEquals(p.normalization(), p.validation().normalization());
        assertEquals(p.normalization(), p.test().normalization());

        PreparedData none = data.prepare(0, 7, null, null, null);
        assertNull(none.validation());
        assertEquals(Normalization.scale(), none.train().normalization());

        DataException e = assertThrows(DataException.class,
                () -> data.prepare(0, 7, "standardize", new float[] {0.5f, 0.5f, 0.5f}, new float[] {1, 1, 1}));
        assertTrue(e.getMessage().contains("3 entries but the dataset has 1 channel"), e.getMessage());
    }
}
