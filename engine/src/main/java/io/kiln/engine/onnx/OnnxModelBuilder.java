package io.kiln.engine.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Builds an ONNX {@code ModelProto} of one graph of float tensors: nodes, initializers, inputs and outputs with a
 * symbolic batch dimension, and metadata. Field numbers are those of {@code onnx.proto} (ONNX 1.x); only what a
 * feed-forward classifier needs is written.
 */
final class OnnxModelBuilder {
    /** ONNX's opset 13 goes with IR version 7. */
    static final int OPSET = 13;
    static final int IR_VERSION = 7;
    private static final int FLOAT = 1;
    private static final int INT64 = 7;
    // AttributeProto.AttributeType
    private static final int ATTR_FLOAT = 1;
    private static final int ATTR_INT = 2;
    private static final int ATTR_INTS = 7;

    private final List<ProtoWriter> nodes = new ArrayList<>();
    private final List<ProtoWriter> initializers = new ArrayList<>();
    private final List<ProtoWriter> inputs = new ArrayList<>();
    private final List<ProtoWriter> outputs = new ArrayList<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private int nodeCount;

    /** A node attribute: an int, a float or a list of ints. */
    record Attr(String name, Object value) {
        static Attr of(String name, long v) {
            return new Attr(name, v);
        }

        static Attr of(String name, float v) {
            return new Attr(name, v);
        }

        static Attr ints(String name, long... v) {
            return new Attr(name, v);
        }
    }

    /** Adds a node and returns the name of its (single) output, {@code out}. */
    String node(String op, List<String> in, String out, Attr... attrs) {
        ProtoWriter n = new ProtoWriter();
        for (String i : in) {
            n.string(1, i);
        }
        n.string(2, out);
        n.string(3, op + "_" + nodeCount++);
        n.string(4, op);
        for (Attr a : attrs) {
            ProtoWriter w = new ProtoWriter().string(1, a.name());
            switch (a.value()) {
                case Long v -> w.int64(3, v).int64(20, ATTR_INT);
                case Float v -> w.float32(2, v).int64(20, ATTR_FLOAT);
                case long[] v -> w.int64s(8, v).int64(20, ATTR_INTS);
                default -> throw new IllegalArgumentException("attribute " + a.name());
            }
            n.message(5, w);
        }
        nodes.add(n);
        return out;
    }

    /** A float32 constant of the graph (weights), stored little-endian as raw data. */
    void initializer(String name, int[] dims, float[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values);
        ProtoWriter t = new ProtoWriter();
        for (int d : dims) {
            t.int64(1, d);
        }
        t.int64(2, FLOAT).string(8, name).bytes(9, b.array());
        initializers.add(t);
    }

    /** An int64 constant of the graph (the axes of Unsqueeze and Squeeze). */
    void initializerInt64(String name, long[] values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asLongBuffer().put(values);
        initializers.add(new ProtoWriter().int64(1, values.length).int64(2, INT64).string(8, name).bytes(9, b.array()));
    }

    /** A graph input of float32 {@code [batch, dims...]}, the batch dimension symbolic. */
    void input(String name, int[] dims) {
        inputs.add(valueInfo(name, dims));
    }

    void output(String name, int[] dims) {
        outputs.add(valueInfo(name, dims));
    }

    void metadata(String key, String value) {
        metadata.put(key, value);
    }

    private static ProtoWriter valueInfo(String name, int[] dims) {
        ProtoWriter shape = new ProtoWriter().message(1, new ProtoWriter().string(2, "batch"));
        for (int d : dims) {
            shape.message(1, new ProtoWriter().int64(1, d));
        }
        ProtoWriter tensorType = new ProtoWriter().int64(1, FLOAT).message(2, shape);
        return new ProtoWriter().string(1, name).message(2, new ProtoWriter().message(1, tensorType));
    }

    byte[] build(String graphName, String producerVersion, String doc) {
        ProtoWriter graph = new ProtoWriter();
        nodes.forEach(n -> graph.message(1, n));
        graph.string(2, graphName);
        initializers.forEach(t -> graph.message(5, t));
        inputs.forEach(v -> graph.message(11, v));
        outputs.forEach(v -> graph.message(12, v));
        ProtoWriter model = new ProtoWriter()
                .int64(1, IR_VERSION)
                .string(2, "kiln")
                .string(3, producerVersion)
                .string(4, "io.kiln")
                .int64(5, 1)
                .string(6, doc)
                .message(7, graph)
                .message(8, new ProtoWriter().string(1, "").int64(2, OPSET));
        metadata.forEach((k, v) -> model.message(14, new ProtoWriter().string(1, k).string(2, v)));
        return model.toByteArray();
    }
}
