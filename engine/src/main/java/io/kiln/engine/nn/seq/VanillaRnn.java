package io.kiln.engine.nn.seq;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.tensor.Tensor;
import java.util.SplittableRandom;

/** The vanilla (Elman) RNN: h_t = tanh(x_t Wx + h_{t-1} Wh + b), with Wx {@code [D, H]} and Wh {@code [H, H]}. */
public final class VanillaRnn extends RecurrentLayer {

    public VanillaRnn(Backend backend, String name, int in, int hidden, SplittableRandom rng) {
        super(backend, name, in, hidden, hidden, rng);
    }

    /** h = tanh(x Wx + hPrev Wh + b). */
    @Override
    void cell(Tensor x, int prev, int slot) {
        Tensor h = hs.get(slot);
        weights.preActivation(x, hiddenState(prev), h);
        backend.activationForward(Activation.TANH, h, h);
    }

    @Override
    void cellBackward(int t, Tensor dh, boolean last, Tensor da) {
        backend.activationBackward(Activation.TANH, hs.get(t), dh, da);
    }
}
