package io.kiln.engine.backend.cuda;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.cuda.SideBySide.Both;
import io.kiln.engine.nn.Param;
import io.kiln.engine.nn.seq.Lstm;
import io.kiln.engine.nn.seq.RecurrentLayer;
import io.kiln.engine.nn.seq.VanillaRnn;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * gpu-check's comparisons of the sequence models' operations (word embeddings, the LSTM cell, argmax), run by
 * {@link GpuCheck} with its own comparison. Tolerances: the embedding lookup and argmax are bit for bit; the
 * scatter-add adds in the CPU's order (1e-6); the LSTM cell's sigmoid and tanh 1e-5. The temporal softmax loss
 * is among GpuCheck's losses; the recurrent layers end to end ({@link #recurrentLayers}) train through time.
 */
final class SequenceChecks {
    static final double EXACT = 1e-6;
    static final double TRANSCENDENTAL = 1e-5;

    private final SideBySide s;

    SequenceChecks(SideBySide s) {
        this.s = s;
    }

    /** Word indices in [0, vocab), with repeats (the scatter-add must add them all). */
    private float[] words(int n, int vocab) {
        return s.labels(n, vocab);
    }

    void all() {
        int vocab = 37, d = 24, n = 150;
        s.check("embeddingForward V=" + vocab + " D=" + d + " n=" + n + " (bit for bit)", 0, 0, () -> {
            Both table = s.rand(vocab, d), idx = s.of(words(n, vocab), n), out = s.nans(n, d);
            s.both((be, side) -> be.embeddingForward(table.on(side), idx.on(side), out.on(side)));
            return new Both[] {out};
        });
        s.check("embeddingBackward V=" + vocab + " D=" + d + " n=" + n + " (scatter-add into a non-zero table)", EXACT,
                EXACT, () -> {
                    Both dOut = s.rand(n, d), idx = s.of(words(n, vocab), n), dTable = s.rand(vocab, d);
                    s.both((be, side) -> be.embeddingBackward(dOut.on(side), idx.on(side), dTable.on(side)));
                    return new Both[] {dTable};
                });
        int rows = 9, hidden = 13;
        s.check("lstmCellForward n=" + rows + " H=" + hidden + " (gates, c, h)", TRANSCENDENTAL, TRANSCENDENTAL, () -> {
            Both a = s.of(s.random(rows * 4 * hidden, 4.0), rows, 4 * hidden), cPrev = s.of(s.random(rows * hidden, 2.0),
                    rows, hidden);
            Both gates = s.nans(rows, 4 * hidden), c = s.nans(rows, hidden), h = s.nans(rows, hidden);
            s.both((be, side) -> be.lstmCellForward(a.on(side), cPrev.on(side), gates.on(side), c.on(side), h.on(side)));
            return new Both[] {gates, c, h};
        });
        s.check("lstmCellForward in place (gates = a)", TRANSCENDENTAL, TRANSCENDENTAL, () -> {
            Both a = s.of(s.random(rows * 4 * hidden, 4.0), rows, 4 * hidden), cPrev = s.rand(rows, hidden);
            Both c = s.nans(rows, hidden), h = s.nans(rows, hidden);
            s.both((be, side) -> be.lstmCellForward(a.on(side), cPrev.on(side), a.on(side), c.on(side), h.on(side)));
            return new Both[] {a, c, h};
        });
        for (boolean fromNext : new boolean[] {true, false}) {
            s.check("lstmCellBackward n=" + rows + " H=" + hidden + (fromNext ? " (dc from the next step, in place)"
                    : " (no dc)"), TRANSCENDENTAL, TRANSCENDENTAL, () -> {
                Both a = s.of(s.random(rows * 4 * hidden, 4.0), rows, 4 * hidden), cPrev = s.rand(rows, hidden);
                Both gates = s.zeros(rows, 4 * hidden), c = s.zeros(rows, hidden), h = s.zeros(rows, hidden);
                // the same forward results on both sides
                s.cpu.lstmCellForward(a.c, cPrev.c, gates.c, c.c, h.c);
                s.dev.upload(s.cpu.toHost(gates.c), gates.g);
                s.dev.upload(s.cpu.toHost(c.c), c.g);
                Both dh = s.rand(rows, hidden), dc = fromNext ? s.rand(rows, hidden) : null;
                Both da = s.nans(rows, 4 * hidden), dcPrev = fromNext ? dc : s.nans(rows, hidden);
                s.both((be, side) -> be.lstmCellBackward(gates.on(side), cPrev.on(side), c.on(side), dh.on(side),
                        dc == null ? null : dc.on(side), da.on(side), dcPrev.on(side)));
                return new Both[] {da, dcPrev};
            });
        }
        s.check("argmax [40, 1004] (with ties: the first maximum)", 0, 0, () -> {
            Both scores = s.of(s.coarse(40 * 1004), 40, 1004), idx = s.nans(40);
            s.both((be, side) -> be.argmax(scores.on(side), idx.on(side)));
            return new Both[] {idx};
        });
    }

    /**
     * The recurrent layers end to end, from the same initial weights on both backends: T steps forward from h0,
     * then back through time (the step slots of {@link RecurrentLayer}, the LSTM's gates written over their
     * pre-activations and dc carried back in place, the weights' gradients accumulated over the steps). Compared:
     * every h_t and dx_t, dh0 and the weights' gradients. {@code tolerance} is the training steps'.
     */
    void recurrentLayers(double tolerance) {
        int n = 5, in = 7, hidden = 6, steps = 4;
        for (String cell : List.of("lstm", "rnn")) {
            s.check("training steps: " + cell + " forward and back through time, T=" + steps, tolerance, tolerance, () -> {
                Both h0 = s.rand(n, hidden);
                List<Both> xs = new ArrayList<>(), dhs = new ArrayList<>();
                for (int t = 0; t < steps; t++) {
                    xs.add(s.rand(n, in));
                    dhs.add(s.rand(n, hidden));
                }
                List<Both> outs = new ArrayList<>();
                try (RecurrentLayer c = layer(cell, s.cpu, in, hidden); RecurrentLayer g = layer(cell, s.dev, in, hidden)) {
                    List<Tensor> hc = c.forward(h0.c, xs.stream().map(b -> b.c).toList());
                    List<Tensor> hg = g.forward(h0.g, xs.stream().map(b -> b.g).toList());
                    for (int t = 0; t < steps; t++) {
                        outs.add(s.results(hc.get(t), hg.get(t)));
                    }
                    RecurrentLayer.Gradients gc = c.backward(dhs.stream().map(b -> b.c).toList());
                    RecurrentLayer.Gradients gg = g.backward(dhs.stream().map(b -> b.g).toList());
                    for (int t = 0; t < steps; t++) {
                        outs.add(s.results(gc.dx().get(t), gg.dx().get(t)));
                    }
                    outs.add(s.results(gc.dh0(), gg.dh0()));
                    List<Param> pc = c.params(), pg = g.params();
                    for (int i = 0; i < pc.size(); i++) {
                        outs.add(s.results(pc.get(i).grad(), pg.get(i).grad()));
                    }
                }
                return outs.toArray(new Both[0]);
            });
        }
    }

    private static RecurrentLayer layer(String cell, Backend backend, int in, int hidden) {
        SplittableRandom rng = new SplittableRandom(11);
        return cell.equals("lstm") ? new Lstm(backend, cell, in, hidden, rng) : new VanillaRnn(backend, cell, in, hidden, rng);
    }
}
