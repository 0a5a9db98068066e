package io.kiln.engine.nn.seq;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.LossKind;
import io.kiln.engine.data.captions.Vocabulary;
import io.kiln.engine.nn.Param;
import io.kiln.engine.spec.CaptioningOptions;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * CS231n's CaptioningRNN: image features {@code [n, D]} are projected to the initial hidden state h0, the caption's
 * words are embedded, a vanilla RNN or an LSTM runs over them, and a temporal affine layer scores the next word at
 * every step. A caption of T words (starting with {@code <START>}) is read as the T - 1 inputs w_0 ... w_{T-2} and
 * the T - 1 targets w_1 ... w_{T-1}; the temporal softmax loss skips targets that are {@code <NULL>} (index 0).
 */
public final class CaptioningModel implements AutoCloseable {
    private final Backend backend;
    private final CaptioningOptions options;
    private final int featureDim;
    private final TemporalAffine project;
    private final WordEmbedding embed;
    private final RecurrentLayer cell;
    private final TemporalAffine scores;
    /** Per step: input words, target words (as floats, [n, 1]) and the scores' gradients. */
    private final StepTensors inWords;
    private final StepTensors outWords;
    private final StepTensors dScores;

    public CaptioningModel(Backend backend, CaptioningOptions options, int featureDim, int vocab, long seed) {
        this.backend = backend;
        this.options = options;
        this.featureDim = featureDim;
        SplittableRandom rng = new SplittableRandom(seed);
        int h = options.hidden(), w = options.wordvec();
        this.project = new TemporalAffine(backend, "proj", featureDim, h, rng);
        this.embed = new WordEmbedding(backend, "embed", vocab, w, rng);
        this.cell = options.cell().equals("rnn") ? new VanillaRnn(backend, "rnn", w, h, rng)
                : new Lstm(backend, "lstm", w, h, rng);
        this.scores = new TemporalAffine(backend, "out", h, vocab, rng);
        this.inWords = new StepTensors(backend, 1);
        this.outWords = new StepTensors(backend, 1);
        this.dScores = new StepTensors(backend, vocab);
    }

    public CaptioningOptions options() {
        return options;
    }

    public int featureDim() {
        return featureDim;
    }

    /** Every parameter, in a fixed order (their names are the checkpoint's). */
    public List<Param> params() {
        List<Param> out = new ArrayList<>(project.params());
        out.add(embed.table());
        out.addAll(cell.params());
        out.addAll(scores.params());
        return out;
    }

    public long parameterCount() {
        return params().stream().mapToLong(p -> p.value().size()).sum();
    }

    /**
     * The temporal softmax loss of a batch of n captions of {@code length} words ({@code captions[i * length + t]})
     * with their features {@code [n, D]}. Adds the summed loss of the n captions and the number of correctly
     * predicted non-null words to {@code stats[2 * slot]} and {@code stats[2 * slot + 1]}. With {@code backward},
     * sets every parameter's gradient of the mean over captions of each caption's summed loss.
     */
    public void loss(Tensor features, int[] captions, int length, Tensor stats, int slot, boolean backward) {
        int n = features.dim(0), steps = length - 1;
        if (captions.length != n * length) {
            throw new IllegalArgumentException("captions hold " + captions.length + " words, expected " + n + " x "
                    + length);
        }
        inWords.ensure(n, steps);
        outWords.ensure(n, steps);
        float[] in = new float[n];
        float[] target = new float[n];
        for (int t = 0; t < steps; t++) {
            for (int i = 0; i < n; i++) {
                in[i] = captions[i * length + t];
                target[i] = captions[i * length + t + 1];
            }
            backend.upload(in, inWords.get(t));
            backend.upload(target, outWords.get(t));
        }
        Tensor h0 = project.forward(List.of(features)).get(0);
        List<Tensor> xs = embed.forward(inWords.first(steps));
        List<Tensor> hs = cell.forward(h0, xs);
        List<Tensor> ys = scores.forward(hs);
        if (backward) {
            dScores.ensure(n, steps);
        }
        for (int t = 0; t < steps; t++) {
            backend.loss(LossKind.TEMPORAL_SOFTMAX, ys.get(t), outWords.get(t), backward ? dScores.get(t) : null,
                    stats, slot);
        }
        if (!backward) {
            return;
        }
        List<Tensor> dh = scores.backward(dScores.first(steps));
        RecurrentLayer.Gradients g = cell.backward(dh);
        embed.backward(g.dx());
        project.backward(List.of(g.dh0()));
    }

    /**
     * Greedy decoding: from {@code <START>} the most likely word at every step is fed back, for {@code maxLength}
     * steps. Returns {@code [n, maxLength]} word indices (row-major); words after a caption's {@code <END>} are
     * whatever the model went on to say, so readers stop at the first {@code <END>}.
     */
    public int[] sample(Tensor features, int maxLength) {
        int n = features.dim(0);
        int[] out = new int[n * maxLength];
        Tensor h0 = project.step(0, features);
        cell.start(h0);
        inWords.ensure(n, 2);
        Tensor word = inWords.get(0), next = inWords.get(1);
        backend.fill(word, Vocabulary.START);
        float[] host = new float[n];
        for (int t = 0; t < maxLength; t++) {
            Tensor x = embed.step(0, word);
            Tensor h = cell.step(x);
            Tensor s = scores.step(0, h);
            backend.argmax(s, next);
            backend.download(next, host);
            for (int i = 0; i < n; i++) {
                out[i * maxLength + t] = (int) host[i];
            }
            Tensor swap = word;
            word = next;
            next = swap;
        }
        return out;
    }

    @Override
    public void close() {
        inWords.close();
        outWords.close();
        dScores.close();
        project.close();
        embed.close();
        cell.close();
        scores.close();
    }
}
