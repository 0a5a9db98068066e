package io.kiln.engine.backend;

/**
 * Shapes of a 2-D convolution (cross-correlation, as in cuDNN and PyTorch): input {@code [n, c, h, w]},
 * filters {@code [k, c, kernelH, kernelW]}, output {@code [n, k, outH, outW]}.
 */
public record ConvGeometry(int n, int c, int h, int w, int k, int kernelH, int kernelW,
                           int strideH, int strideW, int padH, int padW) implements SlidingWindow {

    public ConvGeometry {
        if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || k <= 0 || kernelH <= 0 || kernelW <= 0
                || strideH <= 0 || strideW <= 0 || padH < 0 || padW < 0) {
            throw new IllegalArgumentException("invalid convolution geometry " + this);
        }
        if (h + 2 * padH < kernelH || w + 2 * padW < kernelW) {
            throw new IllegalArgumentException("kernel " + kernelH + "x" + kernelW + " larger than padded input "
                    + (h + 2 * padH) + "x" + (w + 2 * padW));
        }
    }

    public static ConvGeometry square(int n, int c, int h, int w, int k, int kernel, int stride, int pad) {
        return new ConvGeometry(n, c, h, w, k, kernel, kernel, stride, stride, pad, pad);
    }

    /** The filter's height, {@link #kernelH}: the window it slides. */
    @Override
    public int windowH() {
        return kernelH;
    }

    @Override
    public int windowW() {
        return kernelW;
    }

    public int[] filterShape() {
        return new int[] {k, c, kernelH, kernelW};
    }

    public int[] outputShape() {
        return new int[] {n, k, outH(), outW()};
    }

    /** Multiply-adds of the forward pass (each counts as two floating-point operations). */
    public long macs() {
        return (long) n * k * outH() * outW() * c * kernelH * kernelW;
    }

    public ConvGeometry withBatch(int batch) {
        return new ConvGeometry(batch, c, h, w, k, kernelH, kernelW, strideH, strideW, padH, padW);
    }
}
