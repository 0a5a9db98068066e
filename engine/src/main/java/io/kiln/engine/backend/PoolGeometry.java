package io.kiln.engine.backend;

/**
 * Shapes of 2-D pooling over input {@code [n, c, h, w]} to output {@code [n, c, outH, outW]}. Padded
 * positions never win a max pool and count as zeros in an average pool (cuDNN's
 * COUNT_INCLUDE_PADDING, PyTorch's default).
 */
public record PoolGeometry(int n, int c, int h, int w, int windowH, int windowW,
                           int strideH, int strideW, int padH, int padW) implements SlidingWindow {

    public PoolGeometry {
        if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || windowH <= 0 || windowW <= 0
                || strideH <= 0 || strideW <= 0 || padH < 0 || padW < 0) {
            throw new IllegalArgumentException("invalid pooling geometry " + this);
        }
        if (padH >= windowH || padW >= windowW) {
            throw new IllegalArgumentException("pooling padding must be smaller than the window: " + this);
        }
        if (h + 2 * padH < windowH || w + 2 * padW < windowW) {
            throw new IllegalArgumentException("pooling window larger than padded input: " + this);
        }
    }

    public static PoolGeometry square(int n, int c, int h, int w, int window, int stride, int pad) {
        return new PoolGeometry(n, c, h, w, window, window, stride, stride, pad, pad);
    }

    public int[] outputShape() {
        return new int[] {n, c, outH(), outW()};
    }

    public PoolGeometry withBatch(int batch) {
        return new PoolGeometry(batch, c, h, w, windowH, windowW, strideH, strideW, padH, padW);
    }
}
