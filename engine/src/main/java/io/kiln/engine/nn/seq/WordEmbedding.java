package io.kiln.engine.nn.seq;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.nn.Param;
import io.kiln.engine.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Word vectors: step t's words {@code [n]} (indices as floats) become rows of the table {@code [V, W]}. The
 * gradient is a scatter-add into the table over every step, so a word used several times gets the sum.
 */
public final class WordEmbedding implements AutoCloseable {
    private final Backend backend;
    private final Param table;
    private final StepTensors out;
    private List<Tensor> words;

    public WordEmbedding(Backend backend, String name, int vocab, int dim, SplittableRandom rng) {
        this.backend = backend;
        this.table = SeqInit.gaussian(backend, name + ".weight", 0.01, rng, vocab, dim);
        this.out = new StepTensors(backend, dim);
    }

    public Param table() {
        return table;
    }

    /** The vectors of step t's words (a tensor kept by the layer, valid until the next call for that step). */
    public Tensor step(int t, Tensor wordsAtT) {
        out.ensure(wordsAtT.dim(0), t + 1);
        backend.embeddingForward(table.value(), wordsAtT, out.get(t));
        return out.get(t);
    }

    public List<Tensor> forward(List<Tensor> wordsPerStep) {
        this.words = wordsPerStep;
        for (int t = 0; t < wordsPerStep.size(); t++) {
            step(t, wordsPerStep.get(t));
        }
        return out.first(wordsPerStep.size());
    }

    /** Sets the table's gradient from the gradients of the last forward's vectors. */
    public void backward(List<Tensor> dVectors) {
        if (table.frozen()) {
            return;
        }
        backend.fill(table.grad(), 0f);
        for (int t = 0; t < dVectors.size(); t++) {
            backend.embeddingBackward(dVectors.get(t), words.get(t), table.grad());
        }
    }

    @Override
    public void close() {
        out.close();
        table.close();
    }
}
