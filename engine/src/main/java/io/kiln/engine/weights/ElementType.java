package io.kiln.engine.weights;

import java.nio.ByteBuffer;

/** The element types that weights files store, and how each becomes a float. */
enum ElementType {
    F64(8, "float64"), F32(4, "float32"), F16(2, "float16"), BF16(2, "bfloat16"), I64(8, "int64"), I32(4, "int32"),
    I16(2, "int16"), I8(1, "int8"), U8(1, "uint8"), BOOL(1, "bool");

    final int bytes;
    /** PyTorch's name of the type. */
    private final String label;

    ElementType(int bytes, String label) {
        this.bytes = bytes;
        this.label = label;
    }

    /** Element {@code index} of {@code data} (whose byte order is set) as a float. */
    float get(ByteBuffer data, long index) {
        int at = Math.toIntExact(index * bytes);
        return switch (this) {
            case F64 -> (float) data.getDouble(at);
            case F32 -> data.getFloat(at);
            case F16 -> Float.float16ToFloat(data.getShort(at));
            case BF16 -> Float.intBitsToFloat((data.getShort(at) & 0xFFFF) << 16);
            case I64 -> data.getLong(at);
            case I32 -> data.getInt(at);
            case I16 -> data.getShort(at);
            case I8 -> data.get(at);
            case U8, BOOL -> data.get(at) & 0xFF;
        };
    }

    boolean floating() {
        return this == F64 || this == F32 || this == F16 || this == BF16;
    }

    String label() {
        return label;
    }
}
