package io.kiln.engine.captioning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.data.DataException;
import io.kiln.engine.data.DatasetLoader;
import io.kiln.engine.data.captions.CaptioningData;
import io.kiln.engine.data.captions.CaptioningFormat;
import io.kiln.engine.data.captions.SyntheticCaptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The coco_captioning layout as jHDF writes it: detection, reading, the feature choice, caps and bad files. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CaptioningFormatTest {
    @TempDir
    Path dir;

    private Path fixture(boolean pca) throws Exception {
        Path folder = dir.resolve("coco");
        SyntheticCaptions.write(folder, SyntheticCaptions.ATTRIBUTE_WORDS, SyntheticCaptions.attributes(20, 1),
                SyntheticCaptions.attributes(6, 2), pca, true);
        return folder;
    }

    @Test
    void readsCaptionsFeaturesVocabularyAndUrls() throws Exception {
        Path folder = fixture(false);
        assertEquals(DatasetLoader.FORMAT_CAPTIONING, DatasetLoader.detect(folder));
        SyntheticCaptions.Split want = SyntheticCaptions.attributes(20, 1);
        CaptioningData d = CaptioningFormat.load(folder, new CaptioningFormat.Options(null, 0, 0, 0));
        assertEquals("fc7", d.features());
        assertEquals(24, d.vocabulary().size());
        assertEquals(40, d.train().size());
        assertEquals(12, d.length());
        assertEquals(16, d.featureDim());
        assertArrayEquals(want.captions()[3], d.train().caption(3));
        float[] f = new float[16];
        d.train().copyFeatures(3, f, 0);
        assertArrayEquals(want.features()[1], f);
        assertEquals(d.vocabulary().decode(want.captions()[0]), d.vocabulary().decode(d.train().caption(0)));
        assertTrue(d.vocabulary().decode(d.train().caption(0)).endsWith("<END>"));
        assertEquals("http://images.example/val/2.jpg", d.validation().url(4));
        assertEquals(6, d.validation().captionsByImage().size());
    }

    @Test
    void prefersThePcaFeaturesAndHonoursTheSpecsChoice() throws Exception {
        Path folder = fixture(true);
        assertEquals("fc7_pca", CaptioningFormat.load(folder, new CaptioningFormat.Options(null, 0, 0, 0)).features());
        assertEquals(8, CaptioningFormat.load(folder, new CaptioningFormat.Options(null, 0, 0, 0)).featureDim());
        assertEquals(16, CaptioningFormat.load(folder, new CaptioningFormat.Options("fc7", 0, 0, 0)).featureDim());
    }

    @Test
    void capsTrainingCaptionsAndValidationImages() throws Exception {
        Path folder = fixture(false);
        CaptioningData d = CaptioningFormat.load(folder, new CaptioningFormat.Options(null, 7, 2, 5));
        assertEquals(7, d.train().size());
        assertEquals(2, d.validation().captionsByImage().size());
        assertEquals(4, d.validation().size(), "every caption of each kept image");
        CaptioningData again = CaptioningFormat.load(folder, new CaptioningFormat.Options(null, 7, 2, 5));
        for (int i = 0; i < 7; i++) {
            assertArrayEquals(d.train().caption(i), again.train().caption(i), "the sample is a function of the seed");
        }
    }

    @Test
    void namesTheMissingFileOrDataset() throws Exception {
        Path folder = fixture(false);
        DataException e = assertThrows(DataException.class,
                () -> CaptioningFormat.load(folder, new CaptioningFormat.Options("fc7_pca", 0, 0, 0)));
        assertTrue(e.getMessage().contains("train2014_vgg16_fc7_pca.h5"), e.getMessage());
        Files.writeString(folder.resolve("coco2014_captions.h5"), "not hdf5");
        e = assertThrows(DataException.class,
                () -> CaptioningFormat.load(folder, new CaptioningFormat.Options(null, 0, 0, 0)));
        assertTrue(e.getMessage().contains("coco2014_captions.h5"), e.getMessage());
    }
}
