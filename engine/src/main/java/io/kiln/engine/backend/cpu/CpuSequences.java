package io.kiln.engine.backend.cpu;

import io.kiln.engine.backend.ArgumentChecks.Channels;

/**
 * The operations of sequence models: word-embedding lookup and its scatter-add gradient, the LSTM cell's gate
 * arithmetic and its gradient, and the row argmax of greedy decoding. Word indices are checked to name a row
 * of the table first, since a wrong one would read or write outside it.
 */
record CpuSequences(ParallelLoops loops) {

    private static int[] wordIndices(String op, float[] indices, int rows) {
        int[] out = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            float f = indices[i];
            if (!(f >= 0 && f < rows) || f != Math.rint(f)) {
                throw new IllegalArgumentException(op + ": index " + i + " is " + f + ", expected a word index in [0, "
                        + rows + ")");
            }
            out[i] = (int) f;
        }
        return out;
    }

    void embeddingForward(float[] table, int d, float[] indices, float[] out) {
        int[] w = wordIndices("embeddingForward", indices, d == 0 ? 0 : table.length / d);
        loops.parallel(w.length, (long) w.length * d, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                System.arraycopy(table, w[i] * d, out, i * d, d);
            }
        });
    }

    /** Rows in order i = 0, 1, ... for every column (the threads split the columns), as the CUDA kernel adds them. */
    void embeddingBackward(float[] dOut, int d, float[] indices, float[] dTable) {
        int[] w = wordIndices("embeddingBackward", indices, d == 0 ? 0 : dTable.length / d);
        loops.parallel(d, (long) w.length * d, (ci, from, to) -> {
            for (int i = 0; i < w.length; i++) {
                int src = i * d, dst = w[i] * d;
                for (int j = from; j < to; j++) {
                    dTable[dst + j] += dOut[src + j];
                }
            }
        });
    }

    private static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + Math.exp(-x)));
    }

    void lstmCellForward(Channels s, float[] a, float[] cPrev, float[] gates, float[] c, float[] h) {
        int hidden = s.c();
        loops.parallel(s.n(), 40L * s.n() * hidden, (ci, from, to) -> {
            for (int r = from; r < to; r++) {
                for (int j = 0; j < hidden; j++) {
                    int e = r * hidden + j, b = r * 4 * hidden + j;
                    float ig = sigmoid(a[b]);
                    float fg = sigmoid(a[b + hidden]);
                    float og = sigmoid(a[b + 2 * hidden]);
                    float gg = (float) Math.tanh(a[b + 3 * hidden]);
                    gates[b] = ig;
                    gates[b + hidden] = fg;
                    gates[b + 2 * hidden] = og;
                    gates[b + 3 * hidden] = gg;
                    float cv = fg * cPrev[e] + ig * gg;
                    c[e] = cv;
                    h[e] = og * (float) Math.tanh(cv);
                }
            }
        });
    }

    /** dc is null when no gradient comes from the next step; dcPrev may be dc. */
    void lstmCellBackward(Channels s, float[] gates, float[] cPrev, float[] c, float[] dh, float[] dc, float[] da,
                          float[] dcPrev) {
        int hidden = s.c();
        loops.parallel(s.n(), 24L * s.n() * hidden, (ci, from, to) -> {
            for (int r = from; r < to; r++) {
                for (int j = 0; j < hidden; j++) {
                    int e = r * hidden + j, b = r * 4 * hidden + j;
                    float ig = gates[b], fg = gates[b + hidden], og = gates[b + 2 * hidden], gg = gates[b + 3 * hidden];
                    float tc = (float) Math.tanh(c[e]);
                    float dhv = dh[e];
                    float dct = (dc == null ? 0f : dc[e]) + dhv * og * (1f - tc * tc);
                    da[b] = dct * gg * ig * (1f - ig);
                    da[b + hidden] = dct * cPrev[e] * fg * (1f - fg);
                    da[b + 2 * hidden] = dhv * tc * og * (1f - og);
                    da[b + 3 * hidden] = dct * ig * (1f - gg * gg);
                    dcPrev[e] = dct * fg;
                }
            }
        });
    }

    void argmax(int n, int k, float[] scores, float[] indices) {
        loops.parallel(n, (long) n * k, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                int o = i * k, arg = 0;
                float m = scores[o];
                for (int j = 1; j < k; j++) {
                    if (scores[o + j] > m) {
                        m = scores[o + j];
                        arg = j;
                    }
                }
                indices[i] = arg;
            }
        });
    }
}
