package io.kiln.engine.checkpoint;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * A training checkpoint: the job spec, how far training got, and named float32 tensors (weights, batch-norm
 * statistics, optimizer state). The file format is documented in {@code docs/checkpoint-format.md}:
 *
 * <pre>
 *   8 bytes   magic "KILNCKPT"
 *   4 bytes   format version, big-endian int (1)
 *   4 bytes   header length L, big-endian int
 *   L bytes   header, UTF-8 JSON: spec, epoch, globalStep, optimizerSteps, info, tensors[{name, kind, shape}], crc32
 *   ...       each tensor's elements in header order, float32 little-endian (as numpy's '&lt;f4')
 * </pre>
 *
 * The CRC-32 in the header covers the tensor bytes, so a truncated or damaged file is refused rather than
 * loaded with garbage weights. Files are written to a temporary name and moved into place, so a crash
 * mid-write leaves the previous checkpoint intact.
 *
 * @param spec the job spec the weights were trained with
 * @param epoch the number of completed epochs
 * @param info free-form facts saved with the weights (metrics of the epoch, class names, data shape); empty when
 *     none are given
 * @param tensors the tensors by name, in the file's order
 */
public record Checkpoint(JsonNode spec, int epoch, long globalStep, long optimizerSteps, ObjectNode info,
                         Map<String, Entry> tensors) {
    public static final int VERSION = 1;
    private static final byte[] MAGIC = "KILNCKPT".getBytes(StandardCharsets.US_ASCII);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a tensor holds: a trainable parameter, a buffer (running statistics) or optimizer state. */
    public enum Kind { PARAM, BUFFER, OPTIMIZER }

    public record Entry(String name, Kind kind, int[] shape, float[] data) {
    }

    public Checkpoint {
        info = info == null ? JSON.createObjectNode() : info;
        tensors = new LinkedHashMap<>(tensors);
    }

    /** A checkpoint of these tensors, named by their entries; two with the same name are refused. */
    public Checkpoint(JsonNode spec, int epoch, long globalStep, long optimizerSteps, ObjectNode info, List<Entry> entries) {
        this(spec, epoch, globalStep, optimizerSteps, info, byName(entries));
    }

    private static Map<String, Entry> byName(List<Entry> entries) {
        Map<String, Entry> tensors = new LinkedHashMap<>();
        for (Entry e : entries) {
            if (tensors.put(e.name(), e) != null) {
                throw new IllegalArgumentException("duplicate tensor name " + e.name());
            }
        }
        return tensors;
    }

    public Entry tensor(String name) {
        return tensors.get(name);
    }

    /** Writes atomically: to a sibling temporary file first, then moved over {@code path}. */
    public void write(Path path) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, path.getFileName().toString(), ".tmp");
        try {
            try (OutputStream os = Files.newOutputStream(tmp)) {
                write(os);
            }
            try {
                Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, path, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    public void write(OutputStream out) throws IOException {
        CRC32 crc = new CRC32();
        List<byte[]> blobs = new ArrayList<>();
        for (Entry e : tensors.values()) {
            ByteBuffer bb = ByteBuffer.allocate(e.data().length * 4).order(ByteOrder.LITTLE_ENDIAN);
            bb.asFloatBuffer().put(e.data());
            byte[] bytes = bb.array();
            crc.update(bytes);
            blobs.add(bytes);
        }
        ObjectNode header = JSON.createObjectNode();
        header.put("format", "kiln-checkpoint");
        header.put("version", VERSION);
        header.set("spec", spec);
        header.put("epoch", epoch);
        header.put("globalStep", globalStep);
        header.put("optimizerSteps", optimizerSteps);
        header.set("info", info);
        ArrayNode list = header.putArray("tensors");
        for (Entry e : tensors.values()) {
            ObjectNode t = list.addObject();
            t.put("name", e.name());
            t.put("kind", e.kind().name().toLowerCase(java.util.Locale.ROOT));
            ArrayNode shape = t.putArray("shape");
            for (int d : e.shape()) {
                shape.add(d);
            }
        }
        header.put("crc32", crc.getValue());
        byte[] headerBytes = JSON.writeValueAsBytes(header);
        DataOutputStream dos = new DataOutputStream(new BufferedOutputStream(out, 1 << 16));
        dos.write(MAGIC);
        dos.writeInt(VERSION);
        dos.writeInt(headerBytes.length);
        dos.write(headerBytes);
        for (byte[] b : blobs) {
            dos.write(b);
        }
        dos.flush();
    }

    /** The number of completed epochs recorded in a checkpoint file, read from its header alone. */
    public static int readEpoch(Path path) throws IOException {
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(path), 1 << 16))) {
            byte[] magic = new byte[MAGIC.length];
            in.readFully(magic);
            if (!java.util.Arrays.equals(magic, MAGIC)) {
                throw new CheckpointException(path + ": not a Kiln checkpoint (bad magic bytes)");
            }
            in.readInt();
            int headerLength = in.readInt();
            if (headerLength <= 0 || headerLength > (64 << 20)) {
                throw new CheckpointException(path + ": corrupt checkpoint header length " + headerLength);
            }
            byte[] header = new byte[headerLength];
            in.readFully(header);
            return JSON.readTree(header).path("epoch").asInt();
        } catch (EOFException e) {
            throw new CheckpointException(path + ": truncated checkpoint file");
        }
    }

    public static Checkpoint read(Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            return read(in, path.toString());
        } catch (EOFException e) {
            throw new CheckpointException(path + ": truncated checkpoint file");
        }
    }

    public static Checkpoint read(InputStream raw, String source) throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 1 << 16));
        byte[] magic = new byte[MAGIC.length];
        in.readFully(magic);
        if (!java.util.Arrays.equals(magic, MAGIC)) {
            throw new CheckpointException(source + ": not a Kiln checkpoint (bad magic bytes)");
        }
        int version = in.readInt();
        if (version < 1 || version > VERSION) {
            throw new CheckpointException(source + ": checkpoint format version " + version
                    + " is not supported by this Kiln (it reads versions 1 to " + VERSION + ")");
        }
        int headerLength = in.readInt();
        if (headerLength <= 0 || headerLength > (64 << 20)) {
            throw new CheckpointException(source + ": corrupt checkpoint header length " + headerLength);
        }
        byte[] headerBytes = new byte[headerLength];
        in.readFully(headerBytes);
        JsonNode header;
        try {
            header = JSON.readTree(headerBytes);
        } catch (JsonProcessingException e) {
            throw new CheckpointException(source + ": corrupt checkpoint header (not JSON: " + e.getOriginalMessage() + ")");
        }
        List<Entry> entries = new ArrayList<>();
        CRC32 crc = new CRC32();
        for (JsonNode t : header.path("tensors")) {
            int[] shape = new int[t.path("shape").size()];
            long count = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = t.path("shape").get(i).asInt();
                count *= shape[i];
            }
            if (count < 0 || count > Integer.MAX_VALUE / 4) {
                throw new CheckpointException(source + ": tensor " + t.path("name").asText() + " has an impossible shape");
            }
            byte[] bytes = new byte[(int) count * 4];
            in.readFully(bytes);
            crc.update(bytes);
            float[] data = new float[(int) count];
            ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
            Kind kind = kind(t.path("kind").asText("param"), t.path("name").asText(), source);
            entries.add(new Entry(t.path("name").asText(), kind, shape, data));
        }
        if (header.has("crc32") && header.get("crc32").asLong() != crc.getValue()) {
            throw new CheckpointException(source + ": checkpoint data is damaged (CRC-32 mismatch)");
        }
        JsonNode info = header.path("info");
        return new Checkpoint(header.get("spec"), header.path("epoch").asInt(), header.path("globalStep").asLong(),
                header.path("optimizerSteps").asLong(), info.isObject() ? (ObjectNode) info : null, entries);
    }

    private static Kind kind(String text, String tensor, String source) {
        try {
            return Kind.valueOf(text.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(source + ": tensor " + tensor + " has the unknown kind \"" + text
                    + "\" (param, buffer or optimizer)");
        }
    }

    /** A checkpoint that cannot be read; the message names the file and what is wrong. */
    public static final class CheckpointException extends RuntimeException {
        public CheckpointException(String message) {
            super(message);
        }
    }
}
