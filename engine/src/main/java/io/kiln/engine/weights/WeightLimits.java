package io.kiln.engine.weights;

/**
 * Bounds on what a weights file may ask the reader to allocate before its tensors are read, so that a damaged or
 * hostile file is refused rather than exhausting memory. Each is a system property (documented in docs/engine.md).
 *
 * @param maxPickleBytes the largest {@code data.pkl} of a PyTorch file ({@code kiln.weights.max-pickle-bytes},
 *                       default 64 MiB; a ResNet-152 state dict needs about 100 KB)
 * @param maxHeaderBytes the largest JSON header of a safetensors file ({@code kiln.weights.max-header-bytes},
 *                       default 64 MiB)
 * @param maxTensors     the most tensors one file may hold ({@code kiln.weights.max-tensors}, default 100000)
 */
public record WeightLimits(long maxPickleBytes, long maxHeaderBytes, int maxTensors) {

    public static WeightLimits fromSystemProperties() {
        return new WeightLimits(Long.getLong("kiln.weights.max-pickle-bytes", 64L << 20),
                Long.getLong("kiln.weights.max-header-bytes", 64L << 20),
                Integer.getInteger("kiln.weights.max-tensors", 100_000));
    }
}
