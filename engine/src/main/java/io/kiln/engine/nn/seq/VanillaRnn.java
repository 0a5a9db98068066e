package io.kiln.engine.nn.seq;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.nn.Param;
import io.kiln.engine.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;

/** The vanilla (Elman) RNN: h_t = tanh(x_t Wx + h_{t-1} Wh + b), with Wx {@code [D, H]} and Wh {@code [H, H]}. */
public final class VanillaRnn implements RecurrentLayer {
    private final Backend backend;
    private final int in;
    private final int hidden;
    private final Param wx;
    private final Param wh;
    private final Param b;
    private final StepTensors hs;
    private final StepTensors dxs;
    private final StepTensors scratch;
    private Tensor biasScratch;
    private Tensor h0;
    private List<Tensor> xs;
    private int decodeStep;

    public VanillaRnn(Backend backend, String name, int in, int hidden, SplittableRandom rng) {
        this.backend = backend;
        this.in = in;
        this.hidden = hidden;
        this.wx = SeqInit.gaussian(backend, name + ".wx", 1 / Math.sqrt(in), rng, in, hidden);
        this.wh = SeqInit.gaussian(backend, name + ".wh", 1 / Math.sqrt(hidden), rng, hidden, hidden);
        this.b = SeqInit.gaussian(backend, name + ".b", 0, rng, hidden);
        this.hs = new StepTensors(backend, hidden);
        this.dxs = new StepTensors(backend, in);
        this.scratch = new StepTensors(backend, hidden);
    }

    @Override
    public int hidden() {
        return hidden;
    }

    @Override
    public List<Param> params() {
        return List.of(wx, wh, b);
    }

    /** out = tanh(x Wx + hPrev Wh + b). */
    private void cell(Tensor x, Tensor hPrev, Tensor out) {
        int n = x.dim(0);
        backend.gemm(false, false, n, hidden, in, 1f, x, wx.value(), 0f, out);
        backend.gemm(false, false, n, hidden, hidden, 1f, hPrev, wh.value(), 1f, out);
        backend.addBias(out, b.value());
        backend.activationForward(Activation.TANH, out, out);
    }

    @Override
    public List<Tensor> forward(Tensor h0, List<Tensor> xs) {
        this.h0 = h0;
        this.xs = xs;
        hs.ensure(h0.dim(0), xs.size());
        for (int t = 0; t < xs.size(); t++) {
            cell(xs.get(t), t == 0 ? h0 : hs.get(t - 1), hs.get(t));
        }
        return hs.first(xs.size());
    }

    @Override
    public Gradients backward(List<Tensor> dhs) {
        int steps = dhs.size(), n = h0.dim(0);
        dxs.ensure(n, steps);
        // scratch 0: the gradient reaching h_t (from above and from step t+1); 1: da_t; 2: dh_{t-1}
        scratch.ensure(n, 3);
        Tensor dh = scratch.get(0), da = scratch.get(1), dhPrev = scratch.get(2);
        if (biasScratch == null) {
            biasScratch = backend.allocate(hidden);
        }
        backend.fill(b.grad(), 0f);
        for (int t = steps - 1; t >= 0; t--) {
            if (t == steps - 1) {
                backend.copy(dhs.get(t), dh);
            } else {
                backend.add(dhs.get(t), dhPrev, dh);
            }
            backend.activationBackward(Activation.TANH, hs.get(t), dh, da);
            Tensor hPrev = t == 0 ? h0 : hs.get(t - 1);
            float beta = t == steps - 1 ? 0f : 1f;
            backend.gemm(true, false, in, hidden, n, 1f, xs.get(t), da, beta, wx.grad());
            backend.gemm(true, false, hidden, hidden, n, 1f, hPrev, da, beta, wh.grad());
            backend.biasBackward(da, biasScratch);
            backend.axpy(1f, biasScratch, b.grad());
            backend.gemm(false, true, n, in, hidden, 1f, da, wx.value(), 0f, dxs.get(t));
            backend.gemm(false, true, n, hidden, hidden, 1f, da, wh.value(), 0f, dhPrev);
        }
        return new Gradients(dxs.first(steps), dhPrev);
    }

    @Override
    public void start(Tensor h0) {
        this.h0 = h0;
        this.decodeStep = 0;
        hs.ensure(h0.dim(0), 2);
    }

    @Override
    public Tensor step(Tensor x) {
        Tensor prev = decodeStep == 0 ? h0 : hs.get((decodeStep - 1) % 2);
        Tensor out = hs.get(decodeStep % 2);
        cell(x, prev, out);
        decodeStep++;
        return out;
    }

    @Override
    public void close() {
        hs.close();
        dxs.close();
        scratch.close();
        if (biasScratch != null) {
            biasScratch.close();
        }
        params().forEach(Param::close);
    }
}
