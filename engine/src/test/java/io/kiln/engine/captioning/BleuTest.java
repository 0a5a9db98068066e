package io.kiln.engine.captioning;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Corpus BLEU-4 against figures worked out by hand (and by NLTK's corpus_bleu for the same input). */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class BleuTest {
    @Test
    void identicalCaptionsScoreOne() {
        Bleu b = new Bleu();
        b.add(new int[] {5, 6, 7, 8, 9}, List.of(new int[] {5, 6, 7, 8, 9}, new int[] {4, 4}));
        assertEquals(1.0, b.score(), 1e-12);
    }

    @Test
    void clipsRepeatsAndPenalisesBrevity() {
        // hypothesis 5 5 6 7 8 (5 words), reference 5 6 7 8 9 10 (6 words)
        // 1-grams: 5 (clipped to 1), 6, 7, 8 match: 4/5; 2-grams: 56 67 78 of 55 56 67 78: 3/4;
        // 3-grams: 567 678 of 556 567 678: 2/3; 4-grams: 5678 of 5567 5678: 1/2; brevity exp(1 - 6/5)
        Bleu b = new Bleu();
        b.add(new int[] {5, 5, 6, 7, 8}, List.of(new int[] {5, 6, 7, 8, 9, 10}));
        double want = Math.exp(1 - 6.0 / 5) * Math.pow(4.0 / 5 * 3.0 / 4 * 2.0 / 3 * 1.0 / 2, 0.25);
        assertEquals(want, b.score(), 1e-12);
    }

    @Test
    void noMatchingFourGramScoresZero() {
        Bleu b = new Bleu();
        b.add(new int[] {5, 6, 7, 9}, List.of(new int[] {5, 6, 7, 8}));
        assertEquals(0.0, b.score());
    }

    @Test
    void sumsCountsOverTheCorpusAndTakesTheClosestReferenceLength() {
        Bleu b = new Bleu();
        b.add(new int[] {1, 2, 3, 4}, List.of(new int[] {1, 2, 3, 4}, new int[] {9, 9, 9, 9, 9, 9, 9, 9}));
        b.add(new int[] {5, 6, 7, 8, 0}, List.of(new int[] {5, 6, 7, 8, 1}));
        // 1-grams 8/9, 2-grams 6/7, 3-grams 4/5, 4-grams 2/3; lengths 9 = 4 + 5, no penalty
        double want = Math.pow(8.0 / 9 * 6.0 / 7 * 4.0 / 5 * 2.0 / 3, 0.25);
        assertEquals(want, b.score(), 1e-12);
    }
}
