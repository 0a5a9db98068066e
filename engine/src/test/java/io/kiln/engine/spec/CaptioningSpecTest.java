package io.kiln.engine.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The captioning preset's options, the data fields of captioning sets, and the example spec. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class CaptioningSpecTest {
    private static final String BASE = """
            {"name": "c", "data": {"name": "coco"DATA}, "model": {"preset": "captioning"MODEL},
             "loss": "temporal_softmax", "optimizer": {"type": "adam", "lr": 0.001}}""";

    private static JobSpec parse(String data, String model) {
        return SpecParser.parse(BASE.replace("DATA", data).replace("MODEL", model));
    }

    @Test
    void defaultsAreCs231nsCaptioningRnn() {
        JobSpec s = parse("", "");
        CaptioningOptions o = CaptioningOptions.of(s);
        assertEquals(new CaptioningOptions("lstm", 256, 512, 30, 3), o);
        assertNull(s.data().captions().features());
        assertEquals(0, s.data().captions().maxTrain());
        assertEquals(JobSpec.Captions.DEFAULT_MAX_VAL, s.data().captions().maxVal());
    }

    @Test
    void readsTheOptionsAndDataFields() {
        JobSpec s = parse(", \"features\": \"fc7\", \"maxTrain\": 50, \"maxVal\": 20",
                ", \"cell\": \"rnn\", \"wordvec\": 16, \"hidden\": 32, \"maxLength\": 12, \"samples\": 1");
        assertEquals(new CaptioningOptions("rnn", 16, 32, 12, 1), CaptioningOptions.of(s));
        assertEquals(new JobSpec.Captions("fc7", 50, 20), s.data().captions());
    }

    @Test
    void badValuesNameTheirField() {
        SpecException e = assertThrows(SpecException.class, () -> parse("", ", \"cell\": \"gru\""));
        assertTrue(e.getMessage().contains("cell"), e.getMessage());
        e = assertThrows(SpecException.class, () -> parse(", \"features\": \"fc8\"", ""));
        assertTrue(e.getMessage().contains("features"), e.getMessage());
        e = assertThrows(SpecException.class, () -> parse("", ", \"hidden\": 0"));
        assertTrue(e.getMessage().contains("hidden"), e.getMessage());
        e = assertThrows(SpecException.class, () -> SpecParser.parse(BASE.replace("DATA", "").replace("MODEL", "")
                .replace("temporal_softmax", "mse")));
        assertTrue(e.getMessage().contains("temporal_softmax"), e.getMessage());
    }

    @Test
    void theExampleSpecParses() throws Exception {
        Path examples = Path.of(System.getProperty("kiln.repo.root", "..")).resolve("examples");
        JobSpec s = SpecParser.parse(Files.readString(examples.resolve("coco-lstm.json")));
        assertEquals("fc7_pca", s.data().captions().features());
        assertEquals("lstm", CaptioningOptions.of(s).cell());
    }
}
