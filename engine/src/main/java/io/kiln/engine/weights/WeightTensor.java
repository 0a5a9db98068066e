package io.kiln.engine.weights;

import java.util.Arrays;

/**
 * One tensor of a weights file, converted to float32 whatever its stored type (float16, bfloat16 and float64
 * are widened or narrowed; integer tensors, such as batch norm's {@code num_batches_tracked}, become floats too).
 *
 * @param dtype    the stored element type, as the file names it ({@code float32}, {@code F16}, ...), for messages
 * @param floating whether the stored type is a floating-point one
 */
public record WeightTensor(String name, String dtype, boolean floating, int[] shape, float[] values) {

    public String shapeText() {
        return Arrays.toString(shape);
    }
}
