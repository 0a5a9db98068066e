package io.kiln.engine.nn;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.ConvGeometry;
import io.kiln.engine.spec.LayerSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.tensor.Tensor;
import java.util.Arrays;
import java.util.SplittableRandom;

/** 2-D convolution over {@code [C, H, W]} inputs with filters {@code [K, C, k, k]} and an optional bias. */
public final class Conv2d extends WeightedLayer {
    private final ConvGeometry shape;
    private ConvGeometry g;
    private Tensor x;

    public Conv2d(Backend backend, String name, int[] inputShape, LayerSpec.Conv2d spec, SplittableRandom rng, String field) {
        super(backend, name);
        if (inputShape.length != 3) {
            throw new SpecException(field, "conv2d needs image inputs [C, H, W], but its input is "
                    + Arrays.toString(inputShape) + " (is there a flatten or dense before it?)");
        }
        int c = inputShape[0];
        int h = inputShape[1];
        int w = inputShape[2];
        if (h + 2 * spec.padding() < spec.kernel() || w + 2 * spec.padding() < spec.kernel()) {
            throw new SpecException(field, "kernel " + spec.kernel() + " is larger than the padded input "
                    + (h + 2 * spec.padding()) + "x" + (w + 2 * spec.padding()));
        }
        shape = ConvGeometry.square(1, c, h, w, spec.filters(), spec.kernel(), spec.stride(), spec.padding());
        inShape = inputShape.clone();
        outShape = new int[] {spec.filters(), shape.outH(), shape.outW()};
        int fanIn = c * spec.kernel() * spec.kernel();
        int fanOut = spec.filters() * spec.kernel() * spec.kernel();
        createParams(shape.filterShape(), spec.init(), fanIn, fanOut, rng, spec.bias() ? spec.filters() : 0);
    }

    @Override
    public Tensor forward(Tensor input, boolean training) {
        g = g != null && g.n() == input.dim(0) ? g : shape.withBatch(input.dim(0));
        x = input;
        Tensor y = output(input);
        backend.conv2dForward(g, input, weight(), y);
        addBias(y);
        return y;
    }

    @Override
    protected void weightGradient(Tensor dy, Tensor dw) {
        backend.conv2dBackwardFilter(g, x, dy, dw);
    }

    @Override
    protected void inputGradient(Tensor dy, Tensor dx) {
        backend.conv2dBackwardData(g, weight(), dy, dx);
    }
}
