package io.kiln.engine.weights;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Weights files are untrusted input: the unpickler refuses every global a state dict does not need, naming it, and
 * damaged, truncated or oversized files give a clean {@link WeightsException} naming the file.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WeightFileSafetyTest {
    @TempDir
    Path dir;

    /** Pickle opcodes, written by hand so the tests say exactly what each file holds. */
    static final class Pickle {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pickle op(int... bytes) {
            for (int b : bytes) {
                out.write(b);
            }
            return this;
        }

        Pickle global(String module, String name) {
            out.write('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        Pickle string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            out.write('X');
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
            out.writeBytes(b);
            return this;
        }

        Pickle shortString(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            out.write(0x8c);
            out.write(b.length);
            out.writeBytes(b);
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    /** {@code {name: tensor}} of one float storage "0" of {@code numel} elements, viewed with {@code size}. */
    static Pickle stateDict(String name, int numel, int size) {
        return stateDict(name, numel, size, "collections", "OrderedDict");
    }

    /** As torch.save writes it, with the tensor's backward hooks made by {@code hooksModule.hooksName()}. */
    static Pickle stateDict(String name, int numel, int size, String hooksModule, String hooksName) {
        return new Pickle().op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', '(').string(name)
                .global("torch._utils", "_rebuild_tensor_v2")
                .op('(', '(').string("storage").global("torch", "FloatStorage").string("0").string("cpu").op('K', numel, 't', 'Q')
                .op('K', 0).op('K', size, 0x85).op('K', 1, 0x85).op(0x89)
                .global(hooksModule, hooksName).op(')', 'R', 't', 'R', 'u', '.');
    }

    Path torchZip(String file, byte[] pickle, byte[] storage) throws IOException {
        Path p = dir.resolve(file);
        try (OutputStream os = Files.newOutputStream(p); ZipOutputStream zip = new ZipOutputStream(os)) {
            zip.putNextEntry(new ZipEntry("archive/data.pkl"));
            zip.write(pickle);
            zip.closeEntry();
            if (storage != null) {
                zip.putNextEntry(new ZipEntry("archive/data/0"));
                zip.write(storage);
                zip.closeEntry();
            }
        }
        return p;
    }

    /** Reading {@code file} is refused with a message that holds each of {@code expected}; returns the message. */
    static String assertUnreadable(Path file, String... expected) {
        String message = assertThrows(WeightsException.class, () -> WeightFiles.read(file)).getMessage();
        for (String part : expected) {
            assertTrue(message.contains(part), "expected \"" + part + "\" in: " + message);
        }
        return message;
    }

    static byte[] floats(float... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return b.array();
    }

    @Test
    void aHandWrittenStateDictReads() throws IOException {
        Path p = torchZip("ok.pt", stateDict("w", 3, 3).bytes(), floats(1, 2, 3));
        Map<String, WeightTensor> t = WeightFiles.read(p);
        assertEquals(1, t.size());
        assertTrue(Arrays.equals(new float[] {1, 2, 3}, t.get("w").values()));
    }

    @Test
    void aPickleThatWouldRunAShellCommandIsRefusedNamingTheGlobal() throws IOException {
        // what pickle.dumps gives for an object whose __reduce__ returns (os.system, ("touch pwned",))
        byte[] evil = new Pickle().op(0x80, 2).global("os", "system").string("touch " + dir.resolve("pwned"))
                .op(0x85, 'R', '.').bytes();
        Path p = torchZip("evil.pt", evil, null);
        String message = assertUnreadable(p, "refers to the global os.system");
        assertTrue(message.startsWith(p.toString()), "names the file: " + message);
        assertFalse(Files.exists(dir.resolve("pwned")));
    }

    @Test
    void everyGlobalBeyondTheStateDictsIsRefusedWhereverItHides() throws IOException {
        // protocol 4's STACK_GLOBAL, as Python 3.8+ writes posix.system and builtins.eval
        byte[] stackGlobal = new Pickle().op(0x80, 4).shortString("builtins").shortString("eval").op(0x93)
                .shortString("print(1)").op(0x85, 'R', '.').bytes();
        assertUnreadable(torchZip("eval.pt", stackGlobal, null), "builtins.eval");
        // a global nested inside an otherwise plain state dict, in the place of a tensor's backward hooks
        byte[] hidden = stateDict("w", 3, 3, "subprocess", "Popen").bytes();
        assertUnreadable(torchZip("popen.pt", hidden, floats(1, 2, 3)), "subprocess.Popen");
        // torch's own modules are not trusted wholesale either
        byte[] module = new Pickle().op(0x80, 2).global("torch.nn.modules.linear", "Linear").op(')', 'R', '.').bytes();
        assertUnreadable(torchZip("module.pt", module, null), "torch.nn.modules.linear.Linear");
    }

    @Test
    void opcodesThatBuildArbitraryInstancesAreRefused() throws IOException {
        byte[] newobj = new Pickle().op(0x80, 2).global("collections", "OrderedDict").op(')', 0x81, '.').bytes();
        assertUnreadable(torchZip("newobj.pt", newobj, null), "NEWOBJ");
    }

    @Test
    void truncatedAndDamagedFilesGiveCleanErrors() throws IOException {
        Path good = PyTorchFixtures.fixture("resnet18_w4").weights(0);
        byte[] all = Files.readAllBytes(good);
        Path half = dir.resolve("half.pt");
        Files.write(half, Arrays.copyOf(all, all.length / 2));
        assertUnreadable(half, half.toString(), "truncated or damaged");

        byte[] cut = Arrays.copyOf(stateDict("w", 3, 3).bytes(), 40);
        assertUnreadable(torchZip("cut.pt", cut, floats(1, 2, 3)), "truncated");

        assertUnreadable(torchZip("short.pt", stateDict("w", 3, 3).bytes(), floats(1, 2)),
                "storage data/0 holds 8 bytes but its 3 float32 elements need 12");

        assertUnreadable(torchZip("past.pt", stateDict("w", 3, 5).bytes(), floats(1, 2, 3)), "tensor w reaches past the end of its storage");

        assertUnreadable(torchZip("nostorage.pt", stateDict("w", 3, 3).bytes(), null), "storage 0 is missing");

        byte[] list = new Pickle().op(0x80, 2, ']', '.').bytes();
        assertUnreadable(torchZip("list.pt", list, null), "not a state dict");

        Path legacy = dir.resolve("legacy.pt");
        Files.write(legacy, new byte[] {(byte) 0x80, 2, (byte) 0x8a, 10});
        assertUnreadable(legacy, "legacy format");

        Path text = dir.resolve("notes.txt");
        Files.writeString(text, "hello");
        assertUnreadable(text, "neither a torch.save file");
    }

    @Test
    void safetensorsHeadersAndOffsetsAreChecked() throws IOException {
        Path good = PyTorchFixtures.fixture("resnet18_w4").weights(1);
        byte[] all = Files.readAllBytes(good);
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(all, all.length - 100));
        assertUnreadable(cut, "outside the", "truncated or damaged");

        WeightsException big = assertThrows(WeightsException.class,
                () -> WeightFiles.read(good, new WeightLimits(1 << 20, 1000, 100_000)));
        assertTrue(big.getMessage().contains("larger than the limit of 1000 (kiln.weights.max-header-bytes)"),
                big.getMessage());

        Path lying = dir.resolve("lying.safetensors");
        byte[] header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,8]}}".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + 8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).put(floats(1, 2));
        Files.write(lying, b.array());
        assertUnreadable(lying, "span 8 bytes but shape [4] of float32 needs 16");

        Path exotic = dir.resolve("exotic.safetensors");
        header = "{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}".getBytes(StandardCharsets.UTF_8);
        b = ByteBuffer.allocate(8 + header.length + 2).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(header.length).put(header).put(new byte[2]);
        Files.write(exotic, b.array());
        assertUnreadable(exotic, "dtype \"F8_E4M3\"");
    }

    @Test
    void thePickleSizeIsBounded() throws IOException {
        Path p = torchZip("ok.pt", stateDict("w", 3, 3).bytes(), floats(1, 2, 3));
        WeightsException e = assertThrows(WeightsException.class,
                () -> WeightFiles.read(p, new WeightLimits(16, 1 << 20, 100)));
        assertTrue(e.getMessage().contains("kiln.weights.max-pickle-bytes"), e.getMessage());
    }
}
