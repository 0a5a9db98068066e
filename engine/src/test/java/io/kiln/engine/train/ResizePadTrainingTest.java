package io.kiln.engine.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.data.Dataset;
import io.kiln.engine.data.ResizePad;
import io.kiln.engine.nn.Model;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.spec.SpecParser;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A job with data.resize and data.pad trains on the resized images, and predicts uploads prepared the same way. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ResizePadTrainingTest {
    @TempDir
    Path root;

    @Test
    void trainsOnResizedPaddedImagesAndPreparesUploadsAlike() throws IOException {
        TinyData.write(root, "tiny", 200, 50, 4, 8, 3);
        JobSpec spec = SpecParser.parse("""
                {"data":{"name":"tiny","resize":[12,12],"pad":2},
                 "model":{"layers":[{"type":"conv2d","filters":4,"kernel":3},{"type":"relu"},{"type":"flatten"},
                                    {"type":"dense","units":4}]},
                 "optimizer":{"type":"sgd","lr":0.05,"momentum":0.9},"training":{"epochs":1,"batchSize":25}}""");
        Path out = root.resolve("run");
        try (CpuBackend b = new CpuBackend(); Trainer t = new Trainer(spec, b, Trainer.loadData(spec, root))) {
            t.run(new TrainingListener() { }, out, null);
        }
        Checkpoint ckpt = Checkpoint.read(out.resolve(Trainer.CHECKPOINT_FILE));
        assertEquals("[1,16,16]", ckpt.info().get("inputShape").toString(), "12x12 and 2 pixels on each side");
        // An 8x8 upload is resized to 12x12 and padded, as the training images were.
        BufferedImage img = new BufferedImage(8, 8, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 8; x++) {
                img.getRaster().setSample(x, y, 0, 180);
            }
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(img, "png", png);
        try (CpuBackend b = new CpuBackend(); Inference inference = new Inference(b, ckpt)) {
            Dataset s = inference.samples(List.of(png.toByteArray()), List.of("grey.png"));
            assertArrayEquals(new int[] {1, 16, 16}, s.sampleShape());
            assertEquals(0, s.pixel(0, 0, 1, 8), "the padding");
            assertEquals(180, s.pixel(0, 0, 2, 2), "the image from the padding in");
            assertEquals(180, s.pixel(0, 0, 13, 13));
            assertEquals(0, s.pixel(0, 0, 14, 13));
            assertEquals(4, inference.scores(s).length);
        }
    }

    @Test
    void vgg11OnFashionSizedImagesIsRefusedNamingTheOptionsThatFitIt() {
        JobSpec plain = SpecParser.parse("""
                {"data":{"name":"fashion"},"model":{"preset":"vgg11"},"optimizer":{"lr":0.01}}""");
        try (CpuBackend b = new CpuBackend()) {
            SpecException e = assertThrows(SpecException.class, () -> Model.build(b, plain, new int[] {1, 28, 28}, 10));
            assertTrue(e.getMessage().contains("\"resize\": [32, 32]") && e.getMessage().contains("\"pad\": 2"), e.getMessage());
            for (String data : new String[] {"\"resize\":[32,32]", "\"pad\":2"}) {
                JobSpec fixed = SpecParser.parse("{\"data\":{\"name\":\"fashion\"," + data
                        + "},\"model\":{\"preset\":\"vgg11\"},\"optimizer\":{\"lr\":0.01}}");
                int[] shape = Trainer.resizePad(fixed.data()).outputShape(new int[] {1, 28, 28});
                assertArrayEquals(new int[] {1, 32, 32}, shape, data);
                try (Model m = Model.build(b, fixed, shape, 10)) {
                    assertArrayEquals(new int[] {10}, m.outputShape(), data);
                }
            }
        }
    }

    @Test
    void resizeAndPadAreCheckedNamingTheField() {
        String base = "{\"data\":{\"name\":\"d\",%s},\"model\":{\"preset\":\"mlp\"},\"optimizer\":{\"lr\":0.1}}";
        SpecException e = assertThrows(SpecException.class, () -> SpecParser.parse(base.formatted("\"resize\":[32]")));
        assertEquals("data.resize", e.field());
        e = assertThrows(SpecException.class, () -> SpecParser.parse(base.formatted("\"resize\":[32,0]")));
        assertEquals("data.resize[1]", e.field());
        e = assertThrows(SpecException.class, () -> SpecParser.parse(base.formatted("\"pad\":-1")));
        assertEquals("data.pad", e.field());
        e = assertThrows(SpecException.class, () -> SpecParser.parse(base.formatted(
                "\"resize\":[32,32],\"transform\":{\"centerCrop\":32}")));
        assertEquals("data.resize", e.field());
        assertEquals(null, Trainer.resizePad(SpecParser.parse(base.formatted("\"pad\":0")).data()));
        assertEquals(new ResizePad(new int[] {20, 24}, 0),
                Trainer.resizePad(SpecParser.parse(base.formatted("\"resize\":[20,24]")).data()));
    }
}
