package io.kiln.engine.captioning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.data.captions.CaptionSplit;
import io.kiln.engine.data.captions.CaptioningData;
import io.kiln.engine.data.captions.SyntheticCaptions;
import io.kiln.engine.data.captions.Vocabulary;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecParser;
import io.kiln.engine.train.TrainingListener;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The course's checks on the CPU: an RNN and an LSTM overfit 50 captions (training loss well below 0.5 and greedy
 * samples equal to the ground truth), and on a set whose captions follow from the features, validation BLEU-4 of
 * greedy captions is far above a baseline that ignores the image.
 */
class CaptionTrainingTest {
    private static final CpuBackend CPU = new CpuBackend(2);

    @TempDir
    Path root;

    @AfterAll
    static void close() {
        CPU.close();
    }

    private static JobSpec spec(String cell, int maxTrain, int epochs, int batch, double lr) {
        return SpecParser.parse(String.format(Locale.ROOT, """
                {"name": "caption-%s", "data": {"name": "coco", "maxTrain": %d},
                 "model": {"preset": "captioning", "cell": "%s", "wordvec": 32, "hidden": 64, "maxLength": 12,
                           "samples": 2},
                 "loss": "temporal_softmax",
                 "optimizer": {"type": "adam", "lr": %s},
                 "training": {"epochs": %d, "batchSize": %d, "seed": 3}}""", cell, maxTrain, cell, lr, epochs, batch));
    }

    /** Records the loss curve and the last captions event. */
    static final class Recorder implements TrainingListener {
        final List<Double> stepLoss = new ArrayList<>();
        final List<Epoch> epochs = new ArrayList<>();
        Captions last;

        @Override
        public void onStep(Step s) {
            stepLoss.add(s.loss());
        }

        @Override
        public void onEpoch(Epoch e) {
            epochs.add(e);
        }

        @Override
        public void onCaptions(Captions c) {
            last = c;
        }
    }

    private void overfit(String cell) throws Exception {
        SyntheticCaptions.write(root.resolve("coco"), SyntheticCaptions.ATTRIBUTE_WORDS, SyntheticCaptions.random(200, 24, 5),
                SyntheticCaptions.random(20, 24, 6), false, false);
        // the LSTM's gates start half shut and learn slower at the RNN's rate
        JobSpec spec = spec(cell, 50, 60, 25, cell.equals("lstm") ? 1e-2 : 5e-3);
        CaptioningData data = CaptionTrainer.loadData(spec, root);
        assertEquals(50, data.train().size());
        Recorder rec = new Recorder();
        try (CaptionTrainer trainer = new CaptionTrainer(spec, CPU, data)) {
            CaptionTrainer.Result r = trainer.run(rec, null, null);
            double first = rec.stepLoss.get(0), last = rec.epochs.get(rec.epochs.size() - 1).trainLoss();
            System.out.printf(Locale.ROOT, "%s overfit: loss %.3f at the first step, %.4f after %d epochs; curve %s%n",
                    cell, first, last, rec.epochs.size(), curve(rec));
            assertTrue(first > 10, "a fresh model is unsure of every word: " + first);
            assertTrue(last < 0.5, cell + " final training loss " + last);
            int[] rows = new int[data.train().size()];
            java.util.Arrays.setAll(rows, i -> i);
            int[][] sampled = trainer.decoder().greedy(data.train(), rows);
            int equal = 0;
            for (int i = 0; i < rows.length; i++) {
                if (java.util.Arrays.equals(Vocabulary.content(sampled[i]), Vocabulary.content(data.train().caption(i)))) {
                    equal++;
                }
            }
            System.out.printf(Locale.ROOT, "%s overfit: %d of %d greedy captions equal their ground truth%n", cell, equal,
                    rows.length);
            assertTrue(equal >= 40, cell + ": only " + equal + " of 50 greedy captions equal the ground truth");
            assertEquals(4, rec.last.samples().size(), "two training and two validation images");
            TrainingListener.CaptionSample s = rec.last.samples().get(0);
            assertEquals("train", s.split());
            assertEquals(s.truth().get(0), s.sample(), "a memorised training caption");
            assertTrue(Double.isFinite(r.valLoss()));
        }
    }

    private static String curve(Recorder rec) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < rec.epochs.size(); i += 10) {
            sb.append(String.format(Locale.ROOT, "e%d %.3f ", rec.epochs.get(i).epoch(), rec.epochs.get(i).trainLoss()));
        }
        return sb.toString().strip();
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void lstmOverfitsFiftyCaptions() throws Exception {
        overfit("lstm");
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void rnnOverfitsFiftyCaptions() throws Exception {
        overfit("rnn");
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void validationBleuBeatsACaptionThatIgnoresTheImage() throws Exception {
        SyntheticCaptions.write(root.resolve("coco"), SyntheticCaptions.ATTRIBUTE_WORDS, SyntheticCaptions.attributes(600, 7),
                SyntheticCaptions.attributes(100, 8), false, false);
        JobSpec spec = spec("lstm", 0, 15, 50, 5e-3);
        CaptioningData data = CaptionTrainer.loadData(spec, root);
        Recorder rec = new Recorder();
        try (CaptionTrainer trainer = new CaptionTrainer(spec, CPU, data)) {
            CaptionTrainer.Result r = trainer.run(rec, null, null);
            double baseline = constantCaptionBleu(data);
            System.out.printf(Locale.ROOT, "attributes: validation BLEU-4 %.4f, image-blind baseline %.4f; val loss %.3f,"
                    + " curve %s%n", r.valBleu4(), baseline, r.valLoss(), curve(rec));
            assertTrue(r.valBleu4() > 0.8, "validation BLEU-4 " + r.valBleu4());
            assertTrue(r.valBleu4() > baseline + 0.4, "BLEU-4 " + r.valBleu4() + " vs baseline " + baseline);
            assertTrue(rec.epochs.get(rec.epochs.size() - 1).valLoss() < rec.epochs.get(0).valLoss());
        }
    }

    /** BLEU-4 on validation of the most frequent training caption said of every image: what ignoring it earns. */
    private static double constantCaptionBleu(CaptioningData data) {
        Map<String, Integer> counts = new HashMap<>();
        Map<String, int[]> byText = new HashMap<>();
        CaptionSplit train = data.train();
        for (int i = 0; i < train.size(); i++) {
            int[] c = Vocabulary.content(train.caption(i));
            String key = java.util.Arrays.toString(c);
            counts.merge(key, 1, Integer::sum);
            byText.put(key, c);
        }
        String best = counts.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
        Bleu bleu = new Bleu();
        CaptionSplit val = data.validation();
        for (List<Integer> caps : val.captionsByImage().values()) {
            List<int[]> refs = caps.stream().map(c -> Vocabulary.content(val.caption(c))).toList();
            bleu.add(byText.get(best), refs);
        }
        return bleu.score();
    }
}
