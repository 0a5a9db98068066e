package io.kiln.engine.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The tensors of a safetensors file: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor's
 * name to its {@code dtype}, {@code shape} and {@code data_offsets} (begin and end, relative to the data that
 * follows the header), then the raw little-endian data. Nothing in it is executable; the reader still bounds the
 * header and checks every offset against the file.
 */
final class SafetensorsFile {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Map<String, ElementType> TYPES = Map.of("F64", ElementType.F64, "F32", ElementType.F32,
            "F16", ElementType.F16, "BF16", ElementType.BF16, "I64", ElementType.I64, "I32", ElementType.I32,
            "I16", ElementType.I16, "I8", ElementType.I8, "U8", ElementType.U8, "BOOL", ElementType.BOOL);

    private SafetensorsFile() {
    }

    /** Whether the first bytes look like a safetensors header: a plausible length, then a JSON object. */
    static boolean detect(byte[] start, long fileSize) {
        if (start.length < 9) {
            return false;
        }
        long n = ByteBuffer.wrap(start).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        return n >= 2 && n <= fileSize - 8 && start[8] == '{';
    }

    static Map<String, WeightTensor> read(Path file, WeightLimits limits) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0, file);
            long n = len.getLong(0);
            if (n < 2 || n > size - 8) {
                throw new WeightsException(file + ": safetensors header length " + n + " does not fit the file ("
                        + size + " bytes); the file is truncated or not a safetensors file");
            }
            if (n > limits.maxHeaderBytes()) {
                throw new WeightsException(file + ": safetensors header of " + n + " bytes is larger than the limit of "
                        + limits.maxHeaderBytes() + " (kiln.weights.max-header-bytes)");
            }
            ByteBuffer header = ByteBuffer.allocate((int) n);
            readFully(ch, header, 8, file);
            JsonNode root;
            try {
                root = JSON.readTree(header.array());
            } catch (IOException e) {
                throw new WeightsException(file + ": the safetensors header is not valid JSON (" + e.getMessage() + ")", e);
            }
            if (root == null || !root.isObject()) {
                throw new WeightsException(file + ": the safetensors header is not a JSON object");
            }
            long dataStart = 8 + n;
            long dataLength = size - dataStart;
            Map<String, WeightTensor> out = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                if (out.size() >= limits.maxTensors()) {
                    throw new WeightsException(file + ": more than " + limits.maxTensors()
                            + " tensors (kiln.weights.max-tensors)");
                }
                out.put(e.getKey(), tensor(ch, file, e.getKey(), e.getValue(), dataStart, dataLength));
            }
            return out;
        }
    }

    private static WeightTensor tensor(FileChannel ch, Path file, String name, JsonNode t, long dataStart,
                                       long dataLength) throws IOException {
        String where = file + ": tensor " + name;
        ElementType type = TYPES.get(t.path("dtype").asText());
        if (type == null) {
            throw new WeightsException(where + " has dtype " + t.path("dtype") + ", which Kiln does not read (it reads "
                    + String.join(", ", new java.util.TreeSet<>(TYPES.keySet())) + ")");
        }
        JsonNode shapeNode = t.path("shape");
        JsonNode offsets = t.path("data_offsets");
        if (!shapeNode.isArray() || shapeNode.size() > 8 || !offsets.isArray() || offsets.size() != 2) {
            throw new WeightsException(where + " lacks a shape or data_offsets [begin, end]");
        }
        int[] shape = new int[shapeNode.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            long d = shapeNode.get(i).asLong(-1);
            if (!shapeNode.get(i).isIntegralNumber() || d < 0 || d > Integer.MAX_VALUE) {
                throw new WeightsException(where + " has an impossible shape " + shapeNode);
            }
            shape[i] = (int) d;
            count *= d;
            if (count > Integer.MAX_VALUE - 8) {
                throw new WeightsException(where + " has more than 2^31 elements");
            }
        }
        long begin = offsets.get(0).asLong(-1);
        long end = offsets.get(1).asLong(-1);
        if (begin < 0 || end < begin || end > dataLength) {
            throw new WeightsException(where + " has data_offsets [" + begin + ", " + end + "] outside the "
                    + dataLength + " data bytes (the file is truncated or damaged)");
        }
        if (end - begin != count * type.bytes) {
            throw new WeightsException(where + ": data_offsets span " + (end - begin) + " bytes but shape " + shapeNode
                    + " of " + type.label() + " needs " + count * type.bytes);
        }
        ByteBuffer data = ByteBuffer.allocate((int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, data, dataStart + begin, file);
        float[] values = new float[(int) count];
        for (int i = 0; i < values.length; i++) {
            values[i] = type.get(data, i);
        }
        return new WeightTensor(name, t.path("dtype").asText(), type.floating(), shape, values);
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long position, Path file) throws IOException {
        long at = position;
        while (b.hasRemaining()) {
            int n = ch.read(b, at);
            if (n < 0) {
                throw new WeightsException(file + ": truncated safetensors file");
            }
            at += n;
        }
    }
}
