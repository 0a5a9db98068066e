package io.kiln.engine.nn.seq;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.nn.Param;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A recurrent layer over time: from an initial hidden state h0 {@code [n, H]} and inputs x_t {@code [n, D]} it
 * computes hidden states h_t {@code [n, H]}, and backpropagates through time. Built on the backend's matrix products
 * and pointwise operations (two GEMMs per step), so every backend runs it.
 *
 * <p>Both layers compute h_t from the pre-activation a_t = x_t Wx + h_{t-1} Wh + b ({@link RecurrentWeights}); they
 * differ only in their cell, which turns a_t into h_t and, going backwards, the gradient reaching h_t into da_t. So
 * this class runs the steps forwards, while decoding and backwards through time, and each layer supplies its cell.
 */
public abstract sealed class RecurrentLayer implements AutoCloseable permits VanillaRnn, Lstm {

    /** The gradients of the last forward pass's inputs: dx_t for every step, and dh0. */
    public record Gradients(List<Tensor> dx, Tensor dh0) {
    }

    final Backend backend;
    final RecurrentWeights weights;
    /** h_t of every step of the last forward pass; while decoding, two that take turns. */
    final StepTensors hs;
    private final int hidden;
    private final List<StepTensors> allSteps = new ArrayList<>();
    private final StepTensors dxs;
    /** 0: the gradient reaching h_t (from above and from step t+1), 1: dh_{t-1}. */
    private final StepTensors hiddenGrads;
    /** da_t, the gradient of the pre-activation. */
    private final StepTensors preActivationGrad;
    private Tensor h0;
    private List<Tensor> xs;
    private int decodeStep;

    /** {@code width} is the pre-activation's: H for the vanilla RNN, 4H for the LSTM's gates. */
    RecurrentLayer(Backend backend, String name, int in, int hidden, int width, SplittableRandom rng) {
        this.backend = backend;
        this.hidden = hidden;
        this.weights = new RecurrentWeights(backend, name, in, hidden, width, rng);
        this.hs = stepTensors(hidden);
        this.dxs = stepTensors(in);
        this.hiddenGrads = stepTensors(hidden);
        this.preActivationGrad = stepTensors(width);
    }

    /** Per-step tensors of {@code width} that the layer keeps and closes with itself. */
    final StepTensors stepTensors(int width) {
        StepTensors s = new StepTensors(backend, width);
        allSteps.add(s);
        return s;
    }

    public int hidden() {
        return hidden;
    }

    public List<Param> params() {
        return weights.params();
    }

    /** Makes sure the cell's own per-step state exists for {@code steps} steps of batch {@code n}. */
    void ensureCellSteps(int n, int steps) {
    }

    /**
     * One step of the cell: from x and the state of step slot {@code prev} ({@code -1}: the initial state) to the
     * state in slot {@code slot}, the hidden part being {@code hs.get(slot)}.
     */
    abstract void cell(Tensor x, int prev, int slot);

    /** The hidden state in step slot {@code slot}; slot {@code -1} is h0. */
    final Tensor hiddenState(int slot) {
        return slot < 0 ? h0 : hs.get(slot);
    }

    /**
     * Step t of backpropagation through time, going backwards: da_t from dh, the gradient reaching h_t. {@code last}
     * is true for the last step in time (the first one going backwards), where nothing comes from step t+1.
     */
    abstract void cellBackward(int t, Tensor dh, boolean last, Tensor da);

    /** h_1 ... h_T for inputs x_1 ... x_T; the tensors are kept by the layer until its next forward pass. */
    public List<Tensor> forward(Tensor h0, List<Tensor> xs) {
        this.h0 = h0;
        this.xs = xs;
        int n = h0.dim(0), steps = xs.size();
        hs.ensure(n, steps);
        ensureCellSteps(n, steps);
        for (int t = 0; t < steps; t++) {
            cell(xs.get(t), t - 1, t);
        }
        return hs.first(steps);
    }

    /**
     * Given dL/dh_t from above for every step of the last forward pass, sets the parameters' gradients and returns
     * the gradients of the inputs and of h0.
     */
    public Gradients backward(List<Tensor> dhs) {
        int steps = dhs.size(), n = h0.dim(0);
        dxs.ensure(n, steps);
        hiddenGrads.ensure(n, 2);
        preActivationGrad.ensure(n, 1);
        Tensor dh = hiddenGrads.get(0), dhPrev = hiddenGrads.get(1), da = preActivationGrad.get(0);
        weights.startBackward();
        for (int t = steps - 1; t >= 0; t--) {
            boolean last = t == steps - 1;
            weights.gradientReaching(dhs.get(t), dhPrev, last, dh);
            cellBackward(t, dh, last, da);
            weights.backwardStep(xs.get(t), hiddenState(t - 1), da, last, dxs.get(t), dhPrev);
        }
        return new Gradients(dxs.first(steps), dhPrev);
    }

    /** Starts step-by-step decoding from h0 (greedy sampling); the cell state, if any, starts at zero. */
    public void start(Tensor h0) {
        this.h0 = h0;
        this.decodeStep = 0;
        hs.ensure(h0.dim(0), 2);
        ensureCellSteps(h0.dim(0), 2);
    }

    /** One decoding step from the previous state; returns the new hidden state (kept until the step after next). */
    public Tensor step(Tensor x) {
        int slot = decodeStep % 2;
        cell(x, decodeStep == 0 ? -1 : (decodeStep - 1) % 2, slot);
        decodeStep++;
        return hs.get(slot);
    }

    @Override
    public void close() {
        allSteps.forEach(StepTensors::close);
        weights.close();
    }
}
