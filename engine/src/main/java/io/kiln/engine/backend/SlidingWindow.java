package io.kiln.engine.backend;

/**
 * A window slid over the padded planes of an {@code [n, c, h, w]} input: a convolution's filter taps or a pooling
 * window. The output-size arithmetic lives here once, the same for both (and PyTorch's and cuDNN's, flooring).
 */
public sealed interface SlidingWindow permits ConvGeometry, PoolGeometry {
    int n();

    int c();

    int h();

    int w();

    int windowH();

    int windowW();

    int strideH();

    int strideW();

    int padH();

    int padW();

    default int outH() {
        return (h() + 2 * padH() - windowH()) / strideH() + 1;
    }

    default int outW() {
        return (w() + 2 * padW() - windowW()) / strideW() + 1;
    }

    default int[] inputShape() {
        return new int[] {n(), c(), h(), w()};
    }
}
