package io.kiln.engine.captioning;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.data.captions.CaptionSplit;
import io.kiln.engine.data.captions.Vocabulary;
import io.kiln.engine.nn.seq.CaptioningModel;
import io.kiln.engine.train.TrainingListener;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Greedy captions of a split's images, in batches, and what is computed from them: BLEU-4 against every
 * reference caption of each image, and the samples shown beside their ground truth.
 *
 * @param batch how many images go through the model at once
 */
record CaptionDecoder(Backend backend, CaptioningModel model, Vocabulary vocabulary, int batch) {

    /** The greedy caption (word indices, {@code maxLength} of them) of each given caption row's image. */
    public int[][] greedy(CaptionSplit split, int[] rows) {
        int max = model.options().maxLength();
        int[][] out = new int[rows.length][];
        for (int from = 0; from < rows.length; from += batch) {
            int[] part = java.util.Arrays.copyOfRange(rows, from, Math.min(rows.length, from + batch));
            try (CaptionBatch b = CaptionBatch.of(backend, split, part)) {
                int[] words = model.sample(b.features(), max);
                for (int i = 0; i < part.length; i++) {
                    out[from + i] = java.util.Arrays.copyOfRange(words, i * max, (i + 1) * max);
                }
            }
        }
        return out;
    }

    /** Corpus BLEU-4 of one greedy caption per image of the split against all of that image's captions. */
    public double bleu4(CaptionSplit split) {
        Map<Integer, List<Integer>> byImage = split.captionsByImage();
        if (byImage.isEmpty()) {
            return Double.NaN;
        }
        int[] rows = byImage.values().stream().mapToInt(l -> l.get(0)).toArray();
        int[][] hyp = greedy(split, rows);
        Bleu bleu = new Bleu();
        int k = 0;
        for (List<Integer> caps : byImage.values()) {
            List<int[]> refs = new ArrayList<>();
            for (int c : caps) {
                refs.add(Vocabulary.content(split.caption(c)));
            }
            bleu.add(Vocabulary.content(hyp[k++]), refs);
        }
        return bleu.score();
    }

    /** Greedy captions of the split's first {@code count} images, each with all of its ground-truth captions. */
    public List<TrainingListener.CaptionSample> samples(CaptionSplit split, int count) {
        List<List<Integer>> images = split.captionsByImage().values().stream().limit(count).toList();
        int[] rows = images.stream().mapToInt(l -> l.get(0)).toArray();
        int[][] hyp = greedy(split, rows);
        List<TrainingListener.CaptionSample> out = new ArrayList<>();
        for (int i = 0; i < rows.length; i++) {
            List<String> truth = images.get(i).stream().map(c -> vocabulary.decode(split.caption(c))).toList();
            out.add(new TrainingListener.CaptionSample(split.name(), split.imageIndex(rows[i]), split.url(rows[i]),
                    vocabulary.decode(hyp[i]), truth));
        }
        return out;
    }

    /** A caption's words as text, up to and with its {@code <END>}. */
    public String decode(int[] words) {
        return vocabulary.decode(words);
    }
}
