package io.kiln.engine.nn.seq;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.tensor.Tensor;
import java.util.SplittableRandom;

/**
 * The LSTM: a_t = x_t Wx + h_{t-1} Wh + b with Wx {@code [D, 4H]}, Wh {@code [H, 4H]}, gates i, f, o, g side by side
 * (CS231n's order), c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t), c_0 = 0. The gate arithmetic is the backend's
 * fused {@link Backend#lstmCellForward} and its gradient.
 */
public final class Lstm extends RecurrentLayer {
    /** Per step: the gates (the pre-activations are overwritten in place) and c_t. */
    private final StepTensors gates;
    private final StepTensors cs;
    /** 0: c_0 (zeros), 1: dc (carried back through time). */
    private final StepTensors cellScratch;

    public Lstm(Backend backend, String name, int in, int hidden, SplittableRandom rng) {
        super(backend, name, in, hidden, 4 * hidden, rng);
        this.gates = stepTensors(4 * hidden);
        this.cs = stepTensors(hidden);
        this.cellScratch = stepTensors(hidden);
    }

    @Override
    void ensureCellSteps(int n, int steps) {
        gates.ensure(n, steps);
        cs.ensure(n, steps);
        cellScratch.ensure(n, 2);
        backend.fill(cellScratch.get(0), 0f);
    }

    /** The cell state in step slot {@code slot}; slot {@code -1} is c_0. */
    private Tensor cellState(int slot) {
        return slot < 0 ? cellScratch.get(0) : cs.get(slot);
    }

    @Override
    void cell(Tensor x, int prev, int slot) {
        Tensor g = gates.get(slot);
        weights.preActivation(x, hiddenState(prev), g);
        backend.lstmCellForward(g, cellState(prev), g, cs.get(slot), hs.get(slot));
    }

    @Override
    void cellBackward(int t, Tensor dh, boolean last, Tensor da) {
        Tensor dc = cellScratch.get(1);
        backend.lstmCellBackward(gates.get(t), cellState(t - 1), cs.get(t), dh, last ? null : dc, da, dc);
    }
}
