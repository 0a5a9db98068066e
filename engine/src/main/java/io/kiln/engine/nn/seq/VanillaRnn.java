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
    private final int hidden;
    private final RecurrentWeights weights;
    private final StepTensors hs;
    private final StepTensors dxs;
    private final StepTensors scratch;
    private Tensor h0;
    private List<Tensor> xs;
    private int decodeStep;

    public VanillaRnn(Backend backend, String name, int in, int hidden, SplittableRandom rng) {
        this.backend = backend;
        this.hidden = hidden;
        this.weights = new RecurrentWeights(backend, name, in, hidden, hidden, rng);
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
        return weights.params();
    }

    /** out = tanh(x Wx + hPrev Wh + b). */
    private void cell(Tensor x, Tensor hPrev, Tensor out) {
        weights.preActivation(x, hPrev, out);
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
        weights.startBackward();
        for (int t = steps - 1; t >= 0; t--) {
            boolean last = t == steps - 1;
            weights.gradientReaching(dhs.get(t), dhPrev, last, dh);
            backend.activationBackward(Activation.TANH, hs.get(t), dh, da);
            weights.backwardStep(xs.get(t), t == 0 ? h0 : hs.get(t - 1), da, last, dxs.get(t), dhPrev);
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
        weights.close();
    }
}
