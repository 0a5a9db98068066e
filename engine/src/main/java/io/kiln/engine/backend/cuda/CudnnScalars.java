package io.kiln.engine.backend.cuda;

import jcuda.Pointer;

/**
 * The host scalars cuDNN blends with, {@code y = alpha * result + beta * y}: alpha 1 and beta 0 overwrite
 * the output. Read-only, so every backend shares them.
 */
final class CudnnScalars {
    static final Pointer ONE = Pointer.to(new float[] {1f});
    static final Pointer ZERO = Pointer.to(new float[] {0f});

    private CudnnScalars() {
    }
}
