package io.kiln.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.train.TinyData;
import io.kiln.engine.train.Trainer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * evaluate, report and predict given a damaged checkpoint: each exits 2 with one error event whose message
 * names the file and says what is wrong, and prints no stack trace instead.
 */
class CorruptCheckpointTest {
    @TempDir
    static Path root;
    static byte[] good;
    static Path image;

    @BeforeAll
    static void trainOneEpoch() throws IOException {
        TinyData.write(root, "tiny", 200, 50, 4, 8, 1);
        Path spec = EngineMainTest.write(root, "s.json", EngineMainTest.spec(EngineMainTest.MLP, "").replace("EPOCHS", "1"));
        Path out = root.resolve("out");
        EngineMainTest.Run r = EngineMainTest.run("train", "--spec", spec.toString(), "--data-root", root.toString(),
                "--device", "cpu", "--out", out.toString());
        assertEquals(0, r.exit(), r.events().toString());
        good = Files.readAllBytes(out.resolve(Trainer.CHECKPOINT_FILE));
        image = root.resolve("one.png");
        javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_BYTE_GRAY),
                "png", image.toFile());
    }

    /** Bytes 12-15 hold the header's length; the header follows, then the tensors. */
    static int headerLength(byte[] b) {
        return ByteBuffer.wrap(b, 12, 4).getInt();
    }

    /** The same file with its header's text changed (to text of the same length). */
    static byte[] header(byte[] b, UnaryOperator<String> change) {
        int n = headerLength(b);
        String h = new String(b, 16, n, StandardCharsets.UTF_8);
        byte[] changed = change.apply(h).getBytes(StandardCharsets.UTF_8);
        assertEquals(n, changed.length);
        byte[] out = b.clone();
        System.arraycopy(changed, 0, out, 16, n);
        return out;
    }

    static List<Arguments> damages() {
        return List.of(
                Arguments.of("empty", (UnaryOperator<byte[]>) b -> new byte[0], "truncated"),
                Arguments.of("not a checkpoint", (UnaryOperator<byte[]>) b -> "{\"weights\": []}\n".getBytes(
                        StandardCharsets.UTF_8), "not a Kiln checkpoint"),
                Arguments.of("cut in half", (UnaryOperator<byte[]>) b -> Arrays.copyOf(b, b.length / 2), "truncated"),
                Arguments.of("a weight byte flipped", (UnaryOperator<byte[]>) b -> {
                    byte[] c = b.clone();
                    c[c.length - 3] ^= 0x5A;
                    return c;
                }, "damaged (CRC-32 mismatch)"),
                Arguments.of("header length garbage", (UnaryOperator<byte[]>) b -> {
                    byte[] c = b.clone();
                    c[12] = 0x7F;
                    return c;
                }, "corrupt checkpoint header length"),
                Arguments.of("format version 99", (UnaryOperator<byte[]>) b -> {
                    byte[] c = b.clone();
                    c[11] = 99;
                    return c;
                }, "version 99"),
                Arguments.of("header not JSON", (UnaryOperator<byte[]>) b -> header(b,
                        h -> "#".repeat(h.length())), "corrupt checkpoint header"),
                Arguments.of("unknown tensor kind", (UnaryOperator<byte[]>) b -> header(b,
                        h -> h.replace("\"param\"", "\"parxm\"")), "parxm"),
                Arguments.of("no job spec", (UnaryOperator<byte[]>) b -> header(b,
                        h -> h.replace("\"spec\":", "\"spex\":")), "spec"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("damages")
    void everyCommandExitsTwoNamingTheFile(String name, UnaryOperator<byte[]> damage, String what,
                                           @TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("damaged.kiln");
        Files.write(file, damage.apply(good));
        for (String[] command : List.of(
                new String[] {"evaluate", "--checkpoint", file.toString(), "--data-root", root.toString(), "--device", "cpu"},
                new String[] {"report", "--checkpoint", file.toString(), "--data-root", root.toString(), "--device", "cpu",
                    "--out", tmp.resolve("r.html").toString()},
                new String[] {"predict", "--checkpoint", file.toString(), "--device", "cpu", image.toString()})) {
            EngineMainTest.Run r = EngineMainTest.run(command);
            assertEquals(2, r.exit(), name + ", " + command[0] + ": " + r.events());
            assertEquals(1, r.events().size(), r.events().toString());
            String message = r.last().get("message").asText();
            assertEquals("error", r.last().get("event").asText());
            assertTrue(message.contains(file.toString()) && message.contains(what),
                    name + ", " + command[0] + ": the message names the file and says '" + what + "': " + message);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("commands")
    void aMissingFileExitsTwoNamingIt(String command, @TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("nosuch.kiln");
        EngineMainTest.Run r = command.equals("predict")
                ? EngineMainTest.run("predict", "--checkpoint", file.toString(), "--device", "cpu", image.toString())
                : EngineMainTest.run(command, "--checkpoint", file.toString(), "--data-root", root.toString(),
                        "--device", "cpu");
        assertEquals(2, r.exit(), r.events().toString());
        assertTrue(r.last().get("message").asText().contains(file.toString()), r.last().toString());
    }

    static List<String> commands() {
        return List.of("evaluate", "report", "predict");
    }
}
