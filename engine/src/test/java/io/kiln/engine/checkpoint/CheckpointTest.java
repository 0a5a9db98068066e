package io.kiln.engine.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Checkpoint sample() {
        ObjectNode spec = JSON.createObjectNode().put("name", "t");
        ObjectNode info = JSON.createObjectNode().put("val_acc", 0.5);
        return new Checkpoint(spec, 3, 120, 119, info, List.of(
                new Checkpoint.Entry("layers.1.weight", Checkpoint.Kind.PARAM, new int[] {2, 3}, new float[] {1, -2, 3.5f, 0, Float.MIN_VALUE, 7}),
                new Checkpoint.Entry("layers.2.running_mean", Checkpoint.Kind.BUFFER, new int[] {2}, new float[] {0.25f, -1}),
                new Checkpoint.Entry("layers.1.weight.state0", Checkpoint.Kind.OPTIMIZER, new int[] {2, 3}, new float[6])));
    }

    @Test
    void roundTripsThroughAFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("c.kiln");
        sample().write(file);
        Checkpoint back = Checkpoint.read(file);
        assertEquals(3, back.epoch());
        assertEquals(120, back.globalStep());
        assertEquals(119, back.optimizerSteps());
        assertEquals("t", back.spec().get("name").asText());
        assertEquals(0.5, back.info().get("val_acc").asDouble());
        assertEquals(List.of("layers.1.weight", "layers.2.running_mean", "layers.1.weight.state0"),
                List.copyOf(back.tensors().keySet()));
        assertArrayEquals(new int[] {2, 3}, back.tensor("layers.1.weight").shape());
        assertArrayEquals(sample().tensor("layers.1.weight").data(), back.tensor("layers.1.weight").data());
        assertEquals(Checkpoint.Kind.BUFFER, back.tensor("layers.2.running_mean").kind());
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
    }

    @Test
    void layoutIsTheDocumentedOne() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        sample().write(out);
        byte[] b = out.toByteArray();
        assertEquals("KILNCKPT", new String(b, 0, 8, java.nio.charset.StandardCharsets.US_ASCII));
        ByteBuffer bb = ByteBuffer.wrap(b);
        assertEquals(1, bb.getInt(8), "format version, big-endian");
        int headerLength = bb.getInt(12);
        var header = JSON.readTree(new String(b, 16, headerLength, java.nio.charset.StandardCharsets.UTF_8));
        assertEquals("kiln-checkpoint", header.get("format").asText());
        assertEquals(3, header.get("tensors").size());
        // The first tensor's first two elements, little-endian float32, right after the header.
        ByteBuffer data = ByteBuffer.wrap(b, 16 + headerLength, 8).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1f, data.getFloat());
        assertEquals(-2f, data.getFloat());
        assertEquals(16 + headerLength + (6 + 2 + 6) * 4, b.length);
    }

    @Test
    void refusesDamagedAndTruncatedFiles(@TempDir Path dir) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        sample().write(out);
        byte[] good = out.toByteArray();

        byte[] flipped = good.clone();
        flipped[good.length - 30] ^= 0x10;
        var e = assertThrows(Checkpoint.CheckpointException.class,
                () -> Checkpoint.read(new ByteArrayInputStream(flipped), "x.kiln"));
        assertTrue(e.getMessage().contains("CRC-32"), e.getMessage());

        Path truncated = dir.resolve("t.kiln");
        Files.write(truncated, java.util.Arrays.copyOf(good, good.length - 5));
        e = assertThrows(Checkpoint.CheckpointException.class, () -> Checkpoint.read(truncated));
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("t.kiln"), e.getMessage());

        Path other = dir.resolve("o.kiln");
        Files.writeString(other, "not a checkpoint at all");
        e = assertThrows(Checkpoint.CheckpointException.class, () -> Checkpoint.read(other));
        assertTrue(e.getMessage().contains("not a Kiln checkpoint"), e.getMessage());
    }

    @Test
    void refusesANewerFormatVersion() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        sample().write(out);
        byte[] b = out.toByteArray();
        b[11] = 9;
        var e = assertThrows(Checkpoint.CheckpointException.class,
                () -> Checkpoint.read(new ByteArrayInputStream(b), "n.kiln"));
        assertTrue(e.getMessage().contains("version 9"), e.getMessage());
    }
}
