package io.kiln.engine.nn;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.spec.LayerSpec;
import io.kiln.engine.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * Fully connected layer y = x W^T + b with W stored {@code [out, in]} (PyTorch's layout). Inputs of any
 * per-sample shape are read as flat vectors.
 */
public final class Dense extends WeightedLayer {
    private final int in;
    private final int out;
    private Tensor x;

    public Dense(Backend backend, String name, int[] inputShape, LayerSpec.Dense spec, SplittableRandom rng) {
        super(backend, name);
        this.in = Tensor.sizeOf(inputShape);
        this.out = spec.units();
        this.inShape = inputShape.clone();
        this.outShape = new int[] {out};
        createParams(new int[] {out, in}, spec.init(), in, out, rng, spec.bias() ? out : 0);
    }

    @Override
    public Tensor forward(Tensor input, boolean training) {
        x = input;
        Tensor y = output(input);
        backend.gemm(false, true, input.dim(0), out, in, 1f, input, weight(), 0f, y);
        addBias(y);
        return y;
    }

    @Override
    protected void weightGradient(Tensor dy, Tensor dw) {
        backend.gemm(true, false, out, in, dy.dim(0), 1f, dy, x, 0f, dw);
    }

    @Override
    protected void inputGradient(Tensor dy, Tensor dx) {
        backend.gemm(false, false, dy.dim(0), in, out, 1f, dy, weight(), 0f, dx);
    }
}
