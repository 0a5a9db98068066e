package io.kiln.engine.spec;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * The options of {@code "model": {"preset": "captioning", ...}}: CS231n's CaptioningRNN. Image features are
 * projected to the initial hidden state, words are embedded in {@code wordvec} dimensions, a vanilla RNN or an LSTM
 * of {@code hidden} units runs over the caption and a temporal affine layer scores the next word.
 *
 * @param cell      {@code rnn} (tanh) or {@code lstm}
 * @param wordvec   word-vector size
 * @param hidden    hidden-state size
 * @param maxLength most words a greedy sample has (its {@code <END>} included)
 * @param samples   captions sampled per epoch for each of the training and validation splits (fixed images)
 */
public record CaptioningOptions(String cell, int wordvec, int hidden, int maxLength, int samples) {
    public static final String PRESET = "captioning";
    static final List<String> CELLS = List.of("rnn", "lstm");

    static void check(SpecReader r) {
        r.choice("cell", "lstm", CELLS);
        r.integer("wordvec", 256, 1, 4096);
        r.integer("hidden", 512, 1, 8192);
        r.integer("maxLength", 30, 1, 200);
        r.integer("samples", 3, 0, 50);
    }

    /** The options of a parsed spec's model (checked when it was parsed). */
    public static CaptioningOptions of(JobSpec spec) {
        JsonNode o = spec.model().presetOptions();
        return new CaptioningOptions(o.path("cell").asText("lstm"), o.path("wordvec").asInt(256),
                o.path("hidden").asInt(512), o.path("maxLength").asInt(30), o.path("samples").asInt(3));
    }
}
