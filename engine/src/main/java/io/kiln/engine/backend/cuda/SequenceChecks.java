package io.kiln.engine.backend.cuda;

import io.kiln.engine.backend.cuda.SideBySide.Both;

/**
 * gpu-check's comparisons of the sequence models' operations (word embeddings, the LSTM cell, argmax), run by
 * {@link GpuCheck} with its own comparison. Tolerances: the embedding lookup and argmax are bit for bit; the
 * scatter-add adds in the CPU's order (1e-6); the LSTM cell's sigmoid and tanh 1e-5. The temporal softmax loss
 * is among GpuCheck's losses; the recurrent layers end to end are in its training steps.
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
}
