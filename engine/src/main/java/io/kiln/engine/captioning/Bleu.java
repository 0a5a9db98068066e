package io.kiln.engine.captioning;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Corpus BLEU-4 (Papineni et al. 2002), as NLTK's {@code corpus_bleu} computes it without smoothing: the n-gram
 * counts of every hypothesis, each clipped to the most times the n-gram occurs in one of its references, are summed
 * over the corpus for n = 1 ... 4; BLEU is the geometric mean of the four precisions times the brevity penalty
 * exp(1 - r / c) when the hypotheses' total length c is below r, the sum of the reference lengths closest to each
 * hypothesis (the shorter on a tie). Zero when some precision is zero.
 */
public final class Bleu {
    public static final int MAX_N = 4;

    private final long[] matched = new long[MAX_N];
    private final long[] total = new long[MAX_N];
    private long hypothesisLength;
    private long referenceLength;

    /** Adds one hypothesis (word indices, without special tokens) with its references. */
    public void add(int[] hypothesis, List<int[]> references) {
        if (references.isEmpty()) {
            throw new IllegalArgumentException("a hypothesis needs at least one reference");
        }
        hypothesisLength += hypothesis.length;
        int closest = references.get(0).length;
        for (int[] r : references) {
            int d = Math.abs(r.length - hypothesis.length), best = Math.abs(closest - hypothesis.length);
            if (d < best || (d == best && r.length < closest)) {
                closest = r.length;
            }
        }
        referenceLength += closest;
        for (int n = 1; n <= MAX_N; n++) {
            Map<List<Integer>, Integer> hyp = ngrams(hypothesis, n);
            Map<List<Integer>, Integer> maxRef = new HashMap<>();
            for (int[] r : references) {
                ngrams(r, n).forEach((g, c) -> maxRef.merge(g, c, Math::max));
            }
            for (Map.Entry<List<Integer>, Integer> e : hyp.entrySet()) {
                matched[n - 1] += Math.min(e.getValue(), maxRef.getOrDefault(e.getKey(), 0));
                total[n - 1] += e.getValue();
            }
        }
    }

    private static Map<List<Integer>, Integer> ngrams(int[] words, int n) {
        Map<List<Integer>, Integer> out = new HashMap<>();
        for (int i = 0; i + n <= words.length; i++) {
            Integer[] g = new Integer[n];
            for (int j = 0; j < n; j++) {
                g[j] = words[i + j];
            }
            out.merge(List.of(g), 1, Integer::sum);
        }
        return out;
    }

    /** The corpus score in [0, 1]. */
    public double score() {
        double logSum = 0;
        for (int n = 0; n < MAX_N; n++) {
            if (matched[n] == 0) {
                return 0;
            }
            logSum += Math.log((double) matched[n] / total[n]);
        }
        double bp = hypothesisLength >= referenceLength ? 1 : Math.exp(1 - (double) referenceLength / hypothesisLength);
        return bp * Math.exp(logSum / MAX_N);
    }
}
