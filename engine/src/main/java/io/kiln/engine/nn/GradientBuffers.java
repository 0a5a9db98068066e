package io.kiln.engine.nn;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The input-gradient tensors of a model's layers, lent for one backward step and given back once used.
 *
 * <p>In a backward pass the gradient a layer returns is needed only until the layer before it has consumed
 * it. When every layer kept its own input gradient between steps, those tensors together were as large as
 * all the activations (ResNet20 with a batch of 128: about 300 MB of a 700 MB heap); lent from here, a chain of
 * layers needs two or three per shape, and after the first step nothing new is allocated.
 *
 * <p>Rules: a layer's {@link Layer#backward} takes its result from here and does not give back its input;
 * whoever called it (a {@link Sequential}, a {@link Residual}, the {@link Model}) gives the result back once
 * it has passed it on, unless that result shares storage with the input it was given (a reshape, an identity).
 * Giving back a view gives back the tensor it views; giving back what was not lent from here does nothing. Not
 * thread-safe: one backward pass at a time, as a model is trained.
 */
public final class GradientBuffers implements AutoCloseable {
    private final Backend backend;
    private final List<Tensor> free = new ArrayList<>();
    private final List<Tensor> lent = new ArrayList<>();

    public GradientBuffers(Backend backend) {
        this.backend = backend;
    }

    /**
     * A tensor of {@code [batch, shape...]}, holding whatever it held when last given back. When one has to be
     * allocated, the free tensors of other batch sizes are freed first: an epoch's smaller last batch (and the
     * next epoch's first) replaces the previous batch size's tensors rather than keeping a second set beside
     * them, which a device sized for one batch might not hold.
     */
    public Tensor take(int batch, int[] shape) {
        int[] full = Tensor.batchShape(batch, shape);
        for (int i = 0; i < free.size(); i++) {
            Tensor t = free.get(i);
            if (Arrays.equals(t.shape(), full)) {
                free.remove(i);
                lent.add(t);
                return t;
            }
        }
        free.removeIf(t -> {
            boolean otherBatch = t.dim(0) != batch;
            if (otherBatch) {
                t.close();
            }
            return otherBatch;
        });
        Tensor t = backend.allocate(full);
        lent.add(t);
        return t;
    }

    /** Returns {@code t}, or the lent tensor it is a view of, for reuse; anything else is left alone. */
    public void giveBack(Tensor t) {
        if (t == null) {
            return;
        }
        for (int i = 0; i < lent.size(); i++) {
            Tensor l = lent.get(i);
            if (l.sharesStorage(t)) {
                lent.remove(i);
                free.add(l);
                return;
            }
        }
    }

    /**
     * Gives back {@code used}, a backward's result its caller has consumed, unless it shares storage with one of
     * {@code kept}: the caller's own dy (a layer may return it, or a view of it) or a result still in use.
     */
    public void giveBackUnlessShared(Tensor used, Tensor... kept) {
        if (used == null) {
            return;
        }
        for (Tensor k : kept) {
            if (used.sharesStorage(k)) {
                return;
            }
        }
        giveBack(used);
    }

    /** How many tensors are lent now (for tests: a finished backward pass leaves none). */
    public int lentCount() {
        return lent.size();
    }

    /** How many tensors this holds in all, lent or free. */
    public int tensorCount() {
        return lent.size() + free.size();
    }

    /** Frees every tensor, lent or not. */
    @Override
    public void close() {
        for (Tensor t : free) {
            t.close();
        }
        for (Tensor t : lent) {
            t.close();
        }
        free.clear();
        lent.clear();
    }
}
