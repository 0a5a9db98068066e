package io.kiln.engine.nn.seq;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.nn.Param;
import io.kiln.engine.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The LSTM: a_t = x_t Wx + h_{t-1} Wh + b with Wx {@code [D, 4H]}, Wh {@code [H, 4H]}, gates i, f, o, g side by side
 * (CS231n's order), c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t), c_0 = 0. The gate arithmetic is the backend's
 * fused {@link Backend#lstmCellForward} and its gradient.
 */
public final class Lstm implements RecurrentLayer {
    private final Backend backend;
    private final int hidden;
    private final RecurrentWeights weights;
    /** Per step: the gates (the pre-activations are overwritten in place), c_t and h_t. */
    private final StepTensors gates;
    private final StepTensors cs;
    private final StepTensors hs;
    private final StepTensors dxs;
    /** 0: c_0 (zeros), 1: dh reaching h_t, 2: dh_{t-1}, 3: dc (carried back through time). */
    private final StepTensors cellScratch;
    private final StepTensors gateScratch;
    private Tensor h0;
    private List<Tensor> xs;
    private int decodeStep;

    public Lstm(Backend backend, String name, int in, int hidden, SplittableRandom rng) {
        this.backend = backend;
        this.hidden = hidden;
        this.weights = new RecurrentWeights(backend, name, in, hidden, 4 * hidden, rng);
        this.gates = new StepTensors(backend, 4 * hidden);
        this.cs = new StepTensors(backend, hidden);
        this.hs = new StepTensors(backend, hidden);
        this.dxs = new StepTensors(backend, in);
        this.cellScratch = new StepTensors(backend, hidden);
        this.gateScratch = new StepTensors(backend, 4 * hidden);
    }

    @Override
    public int hidden() {
        return hidden;
    }

    @Override
    public List<Param> params() {
        return weights.params();
    }

    private Tensor zeroCell(int n) {
        cellScratch.ensure(n, 4);
        Tensor c0 = cellScratch.get(0);
        backend.fill(c0, 0f);
        return c0;
    }

    private void cell(Tensor x, Tensor hPrev, Tensor cPrev, Tensor g, Tensor c, Tensor h) {
        weights.preActivation(x, hPrev, g);
        backend.lstmCellForward(g, cPrev, g, c, h);
    }

    @Override
    public List<Tensor> forward(Tensor h0, List<Tensor> xs) {
        this.h0 = h0;
        this.xs = xs;
        int n = h0.dim(0), steps = xs.size();
        gates.ensure(n, steps);
        cs.ensure(n, steps);
        hs.ensure(n, steps);
        Tensor c0 = zeroCell(n);
        for (int t = 0; t < steps; t++) {
            cell(xs.get(t), t == 0 ? h0 : hs.get(t - 1), t == 0 ? c0 : cs.get(t - 1), gates.get(t), cs.get(t),
                    hs.get(t));
        }
        return hs.first(steps);
    }

    @Override
    public Gradients backward(List<Tensor> dhs) {
        int steps = dhs.size(), n = h0.dim(0);
        dxs.ensure(n, steps);
        cellScratch.ensure(n, 4);
        gateScratch.ensure(n, 1);
        Tensor c0 = cellScratch.get(0), dh = cellScratch.get(1), dhPrev = cellScratch.get(2), dc = cellScratch.get(3);
        Tensor da = gateScratch.get(0);
        weights.startBackward();
        for (int t = steps - 1; t >= 0; t--) {
            boolean last = t == steps - 1;
            weights.gradientReaching(dhs.get(t), dhPrev, last, dh);
            Tensor cPrev = t == 0 ? c0 : cs.get(t - 1);
            backend.lstmCellBackward(gates.get(t), cPrev, cs.get(t), dh, last ? null : dc, da, dc);
            weights.backwardStep(xs.get(t), t == 0 ? h0 : hs.get(t - 1), da, last, dxs.get(t), dhPrev);
        }
        return new Gradients(dxs.first(steps), dhPrev);
    }

    @Override
    public void start(Tensor h0) {
        this.h0 = h0;
        this.decodeStep = 0;
        int n = h0.dim(0);
        gates.ensure(n, 1);
        cs.ensure(n, 2);
        hs.ensure(n, 2);
        zeroCell(n);
    }

    @Override
    public Tensor step(Tensor x) {
        boolean first = decodeStep == 0;
        Tensor hPrev = first ? h0 : hs.get((decodeStep - 1) % 2);
        Tensor cPrev = first ? cellScratch.get(0) : cs.get((decodeStep - 1) % 2);
        Tensor h = hs.get(decodeStep % 2);
        cell(x, hPrev, cPrev, gates.get(0), cs.get(decodeStep % 2), h);
        decodeStep++;
        return h;
    }

    @Override
    public void close() {
        for (StepTensors s : new StepTensors[] {gates, cs, hs, dxs, cellScratch, gateScratch}) {
            s.close();
        }
        weights.close();
    }
}
