package io.kiln.engine.nn.seq;

import io.kiln.engine.nn.Param;
import io.kiln.engine.tensor.Tensor;
import java.util.List;

/**
 * A recurrent layer over time: from an initial hidden state h0 {@code [n, H]} and inputs x_t {@code [n, D]} it
 * computes hidden states h_t {@code [n, H]}, and backpropagates through time. Built on the backend's matrix products
 * and pointwise operations (two GEMMs per step), so every backend runs it.
 */
public sealed interface RecurrentLayer extends AutoCloseable permits VanillaRnn, Lstm {

    /** The gradients of the last forward pass's inputs: dx_t for every step, and dh0. */
    record Gradients(List<Tensor> dx, Tensor dh0) {
    }

    int hidden();

    List<Param> params();

    /** h_1 ... h_T for inputs x_1 ... x_T; the tensors are kept by the layer until its next forward pass. */
    List<Tensor> forward(Tensor h0, List<Tensor> xs);

    /**
     * Given dL/dh_t from above for every step of the last forward pass, sets the parameters' gradients and returns
     * the gradients of the inputs and of h0.
     */
    Gradients backward(List<Tensor> dhs);

    /** Starts step-by-step decoding from h0 (greedy sampling); the cell state, if any, starts at zero. */
    void start(Tensor h0);

    /** One decoding step from the previous state; returns the new hidden state (kept until the step after next). */
    Tensor step(Tensor x);

    @Override
    void close();
}
