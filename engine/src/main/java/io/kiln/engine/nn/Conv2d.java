package io.kiln.engine.nn;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.ConvGeometry;
import io.kiln.engine.spec.LayerSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/** 2-D convolution over {@code [C, H, W]} inputs with filters {@code [K, C, k, k]} and an optional bias. */
public final class Conv2d extends Layer {
    private final ConvGeometry shape;
    private final Param weight;
    private final Param bias;
    private ConvGeometry g;
    private Tensor x;
    private Tensor y;
    private Tensor dx;

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
        int[] wShape = shape.filterShape();
        weight = new Param(name + ".weight",
                backend.fromHost(Init.weights(spec.init(), Tensor.sizeOf(wShape), fanIn, fanOut, rng), wShape),
                backend.allocate(wShape));
        bias = spec.bias() ? new Param(name + ".bias", backend.allocate(spec.filters()), backend.allocate(spec.filters())) : null;
    }

    @Override
    public Tensor forward(Tensor input, boolean training) {
        int n = input.dim(0);
        if (g == null || g.n() != n) {
            g = shape.withBatch(n);
        }
        x = input;
        y = ensure(y, n, outShape);
        backend.conv2dForward(g, input, weight.value(), y);
        if (bias != null) {
            backend.addBias(y, bias.value());
        }
        return y;
    }

    @Override
    public Tensor backward(Tensor dy) {
        if (!weight.frozen()) {
            backend.conv2dBackwardFilter(g, x, dy, weight.grad());
        }
        if (bias != null && !bias.frozen()) {
            backend.biasBackward(dy, bias.grad());
        }
        if (!needInputGrad) {
            return null;
        }
        dx = ensure(dx, dy.dim(0), inShape);
        backend.conv2dBackwardData(g, weight.value(), dy, dx);
        return dx;
    }

    @Override
    public List<Param> params() {
        List<Param> ps = new ArrayList<>();
        ps.add(weight);
        if (bias != null) {
            ps.add(bias);
        }
        return ps;
    }

    @Override
    protected void closeScratch() {
        closeAll(y, dx);
    }
}
