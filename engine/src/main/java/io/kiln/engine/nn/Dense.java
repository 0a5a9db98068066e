package io.kiln.engine.nn;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.spec.LayerSpec;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Fully connected layer y = x W^T + b with W stored {@code [out, in]} (PyTorch's layout). Inputs of any
 * per-sample shape are read as flat vectors.
 */
public final class Dense extends Layer {
    private final int in;
    private final int out;
    private final Param weight;
    private final Param bias;
    private Tensor x;
    private Tensor y;
    private Tensor dx;

    public Dense(Backend backend, String name, int[] inputShape, LayerSpec.Dense spec, SplittableRandom rng) {
        super(backend, name);
        this.in = Tensor.sizeOf(inputShape);
        this.out = spec.units();
        this.inShape = inputShape.clone();
        this.outShape = new int[] {out};
        weight = new Param(name + ".weight",
                backend.fromHost(Init.weights(spec.init(), out * in, in, out, rng), out, in), backend.allocate(out, in));
        bias = spec.bias() ? new Param(name + ".bias", backend.allocate(out), backend.allocate(out)) : null;
    }

    @Override
    public Tensor forward(Tensor input, boolean training) {
        int n = input.dim(0);
        x = input;
        y = ensure(y, n, outShape);
        backend.gemm(false, true, n, out, in, 1f, input, weight.value(), 0f, y);
        if (bias != null) {
            backend.addBias(y, bias.value());
        }
        return y;
    }

    @Override
    public Tensor backward(Tensor dy) {
        int n = dy.dim(0);
        if (!weight.frozen()) {
            backend.gemm(true, false, out, in, n, 1f, dy, x, 0f, weight.grad());
        }
        if (bias != null && !bias.frozen()) {
            backend.biasBackward(dy, bias.grad());
        }
        if (!needInputGrad) {
            return null;
        }
        dx = ensure(dx, n, inShape);
        backend.gemm(false, false, n, in, out, 1f, dy, weight.value(), 0f, dx);
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
