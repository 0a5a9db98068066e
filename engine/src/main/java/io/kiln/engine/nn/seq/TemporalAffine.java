package io.kiln.engine.nn.seq;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.nn.Param;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The same affine map at every time step: scores_t = h_t W + b with W {@code [H, V]} (CS231n's layout, x W). The
 * backward pass sums the weight gradient over the steps.
 */
public final class TemporalAffine implements AutoCloseable {
    private final Backend backend;
    private final int in;
    private final int out;
    private final Param weight;
    private final Param bias;
    private final StepTensors scores;
    private final StepTensors dIn;
    private Tensor biasScratch;
    private List<Tensor> inputs;

    public TemporalAffine(Backend backend, String name, int in, int out, SplittableRandom rng) {
        this.backend = backend;
        this.in = in;
        this.out = out;
        this.weight = SeqInit.gaussian(backend, name + ".weight", 1 / Math.sqrt(in), rng, in, out);
        this.bias = SeqInit.gaussian(backend, name + ".bias", 0, rng, out);
        this.scores = new StepTensors(backend, out);
        this.dIn = new StepTensors(backend, in);
    }

    public List<Param> params() {
        return List.of(weight, bias);
    }

    /** Step t's scores, a tensor kept by the layer. */
    public Tensor step(int t, Tensor h) {
        int n = h.dim(0);
        scores.ensure(n, t + 1);
        Tensor y = scores.get(t);
        backend.gemm(false, false, n, out, in, 1f, h, weight.value(), 0f, y);
        backend.addBias(y, bias.value());
        return y;
    }

    public List<Tensor> forward(List<Tensor> h) {
        this.inputs = h;
        List<Tensor> ys = new ArrayList<>();
        for (int t = 0; t < h.size(); t++) {
            ys.add(step(t, h.get(t)));
        }
        return ys;
    }

    /** Sets W's and b's gradients and returns dh_t for every step of the last forward. */
    public List<Tensor> backward(List<Tensor> dScores) {
        int n = dScores.get(0).dim(0), steps = dScores.size();
        dIn.ensure(n, steps);
        if (biasScratch == null) {
            biasScratch = backend.allocate(out);
        }
        backend.fill(bias.grad(), 0f);
        for (int t = 0; t < steps; t++) {
            Tensor ds = dScores.get(t);
            backend.gemm(true, false, in, out, n, 1f, inputs.get(t), ds, t == 0 ? 0f : 1f, weight.grad());
            backend.biasBackward(ds, biasScratch);
            backend.axpy(1f, biasScratch, bias.grad());
            backend.gemm(false, true, n, in, out, 1f, ds, weight.value(), 0f, dIn.get(t));
        }
        return dIn.first(steps);
    }

    @Override
    public void close() {
        scores.close();
        dIn.close();
        if (biasScratch != null) {
            biasScratch.close();
        }
        weight.close();
        bias.close();
    }
}
