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
    private final int in;
    private final int hidden;
    private final Param wx;
    private final Param wh;
    private final Param b;
    /** Per step: the gates (the pre-activations are overwritten in place), c_t and h_t. */
    private final StepTensors gates;
    private final StepTensors cs;
    private final StepTensors hs;
    private final StepTensors dxs;
    /** 0: c_0 (zeros), 1: dh reaching h_t, 2: dh_{t-1}, 3: dc (carried back through time). */
    private final StepTensors cellScratch;
    private final StepTensors gateScratch;
    private Tensor biasScratch;
    private Tensor h0;
    private List<Tensor> xs;
    private int decodeStep;

    public Lstm(Backend backend, String name, int in, int hidden, SplittableRandom rng) {
        this.backend = backend;
        this.in = in;
        this.hidden = hidden;
        this.wx = SeqInit.gaussian(backend, name + ".wx", 1 / Math.sqrt(in), rng, in, 4 * hidden);
        this.wh = SeqInit.gaussian(backend, name + ".wh", 1 / Math.sqrt(hidden), rng, hidden, 4 * hidden);
        this.b = SeqInit.gaussian(backend, name + ".b", 0, rng, 4 * hidden);
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
        return List.of(wx, wh, b);
    }

    private Tensor zeroCell(int n) {
        cellScratch.ensure(n, 4);
        Tensor c0 = cellScratch.get(0);
        backend.fill(c0, 0f);
        return c0;
    }

    private void cell(Tensor x, Tensor hPrev, Tensor cPrev, Tensor g, Tensor c, Tensor h) {
        int n = x.dim(0);
        backend.gemm(false, false, n, 4 * hidden, in, 1f, x, wx.value(), 0f, g);
        backend.gemm(false, false, n, 4 * hidden, hidden, 1f, hPrev, wh.value(), 1f, g);
        backend.addBias(g, b.value());
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
        if (biasScratch == null) {
            biasScratch = backend.allocate(4 * hidden);
        }
        backend.fill(b.grad(), 0f);
        for (int t = steps - 1; t >= 0; t--) {
            boolean last = t == steps - 1;
            if (last) {
                backend.copy(dhs.get(t), dh);
            } else {
                backend.add(dhs.get(t), dhPrev, dh);
            }
            Tensor cPrev = t == 0 ? c0 : cs.get(t - 1);
            backend.lstmCellBackward(gates.get(t), cPrev, cs.get(t), dh, last ? null : dc, da, dc);
            Tensor hPrev = t == 0 ? h0 : hs.get(t - 1);
            float beta = last ? 0f : 1f;
            backend.gemm(true, false, in, 4 * hidden, n, 1f, xs.get(t), da, beta, wx.grad());
            backend.gemm(true, false, hidden, 4 * hidden, n, 1f, hPrev, da, beta, wh.grad());
            backend.biasBackward(da, biasScratch);
            backend.axpy(1f, biasScratch, b.grad());
            backend.gemm(false, true, n, in, 4 * hidden, 1f, da, wx.value(), 0f, dxs.get(t));
            backend.gemm(false, true, n, hidden, 4 * hidden, 1f, da, wh.value(), 0f, dhPrev);
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
        if (biasScratch != null) {
            biasScratch.close();
        }
        params().forEach(Param::close);
    }
}
