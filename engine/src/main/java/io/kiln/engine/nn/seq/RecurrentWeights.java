package io.kiln.engine.nn.seq;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.nn.Param;
import io.kiln.engine.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The weights both recurrent layers share: the pre-activation a_t = x_t Wx + h_{t-1} Wh + b with Wx
 * {@code [D, G]}, Wh {@code [H, G]} and b {@code [G]}, where G is H for the vanilla RNN and 4H for the LSTM's
 * gates. The layer's own cell turns a_t into h_t; this class does the two products forwards and, at each step
 * backwards, the weights' gradients and the gradients of x_t and h_{t-1}.
 */
final class RecurrentWeights {
    private final Backend backend;
    private final int in;
    private final int hidden;
    private final int width;
    private final Param wx;
    private final Param wh;
    private final Param b;
    private Tensor biasScratch;

    /** Draws Wx, Wh and b (zeros) in that order, named {@code name.wx}, {@code name.wh}, {@code name.b}. */
    RecurrentWeights(Backend backend, String name, int in, int hidden, int width, SplittableRandom rng) {
        this.backend = backend;
        this.in = in;
        this.hidden = hidden;
        this.width = width;
        this.wx = SeqInit.gaussian(backend, name + ".wx", 1 / Math.sqrt(in), rng, in, width);
        this.wh = SeqInit.gaussian(backend, name + ".wh", 1 / Math.sqrt(hidden), rng, hidden, width);
        this.b = SeqInit.gaussian(backend, name + ".b", 0, rng, width);
    }

    List<Param> params() {
        return List.of(wx, wh, b);
    }

    /** a = x Wx + hPrev Wh + b, for x {@code [n, D]}, hPrev {@code [n, H]}, a {@code [n, G]}. */
    void preActivation(Tensor x, Tensor hPrev, Tensor a) {
        int n = x.dim(0);
        backend.gemm(false, false, n, width, in, 1f, x, wx.value(), 0f, a);
        backend.gemm(false, false, n, width, hidden, 1f, hPrev, wh.value(), 1f, a);
        backend.addBias(a, b.value());
    }

    /** Before the first (that is, the last in time) {@link #backwardStep}: the bias gradient starts at zero. */
    void startBackward() {
        if (biasScratch == null) {
            biasScratch = backend.allocate(width);
        }
        backend.fill(b.grad(), 0f);
    }

    /**
     * One step backwards given da_t: adds the step's share to the weights' gradients (the last step in time,
     * {@code last}, overwrites them) and writes dx_t and dh_{t-1}.
     */
    void backwardStep(Tensor x, Tensor hPrev, Tensor da, boolean last, Tensor dx, Tensor dhPrev) {
        int n = x.dim(0);
        float beta = last ? 0f : 1f;
        backend.gemm(true, false, in, width, n, 1f, x, da, beta, wx.grad());
        backend.gemm(true, false, hidden, width, n, 1f, hPrev, da, beta, wh.grad());
        backend.biasBackward(da, biasScratch);
        backend.axpy(1f, biasScratch, b.grad());
        backend.gemm(false, true, n, in, width, 1f, da, wx.value(), 0f, dx);
        backend.gemm(false, true, n, hidden, width, 1f, da, wh.value(), 0f, dhPrev);
    }

    /** dh = the gradient reaching h_t: from above, plus from step t+1 unless t is the last step. */
    void gradientReaching(Tensor fromAbove, Tensor fromNext, boolean last, Tensor dh) {
        if (last) {
            backend.copy(fromAbove, dh);
        } else {
            backend.add(fromAbove, fromNext, dh);
        }
    }

    void close() {
        if (biasScratch != null) {
            biasScratch.close();
        }
        params().forEach(Param::close);
    }
}
