package io.kiln.engine.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.InterceptedBackend;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.data.Dataset;
import io.kiln.engine.data.Normalization;
import io.kiln.engine.data.PreparedData;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecParser;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The learning-rate schedules and the augmentation as the trainer applies them, seen from the backend: the
 * rate of every optimizer update, and every batch of images uploaded for training and for the test. (The
 * schedule's and the augmentation's own functions have unit tests of their own; these show that the trainer
 * calls them, per step and for training batches only.)
 */
class TrainerScheduleAugmentationTest {
    static final int HEIGHT = 4;
    static final int WIDTH = 6;
    /** Each image is black but for one white pixel in this column, in the row of its class. */
    static final int COLUMN = 1;

    /** The CPU backend, recording the rate of every update and every image batch uploaded. */
    static final class Recording {
        final List<Float> rates = new ArrayList<>();
        final List<float[]> imageBatches = new ArrayList<>();
        final Backend backend = InterceptedBackend.of(new CpuBackend(1), call -> {
            Object[] a = call.args();
            if (call.op().equals("upload") && ((Tensor) a[1]).rank() == 4) {
                imageBatches.add(((float[]) a[0]).clone());
            } else if (call.op().equals("sgdUpdate")) {
                rates.add((Float) a[3]);
            }
            return call.proceed();
        });
    }

    static Dataset images(int n) {
        byte[] px = new byte[n * HEIGHT * WIDTH];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % HEIGHT;
            px[i * HEIGHT * WIDTH + labels[i] * WIDTH + COLUMN] = (byte) 255;
        }
        return Dataset.of(px, labels, new int[] {1, HEIGHT, WIDTH}, List.of("a", "b", "c", "d"));
    }

    /** What a run uploaded and updated, split at the end of the last epoch (after it: the test set). */
    record Run(List<Float> rates, List<float[]> training, List<float[]> test, List<TrainingListener.Epoch> epochs,
               List<TrainingListener.Step> steps) {
    }

    static Run train(String extra, int epochs) {
        JobSpec spec = SpecParser.parse("""
                {"data":{"name":"synthetic"%s},"model":{"layers":[{"type":"flatten"},{"type":"dense","units":4}]},
                 "optimizer":{"type":"sgd","lr":0.1%s},"training":{"epochs":%d,"batchSize":8,"seed":1}}"""
                .formatted(extra.startsWith(",\"augment\"") ? extra : "",
                        extra.startsWith(",\"schedule\"") ? extra : "", epochs));
        PreparedData data = new PreparedData(images(48), null, images(16), "synthetic", Normalization.scale());
        Recording recording = new Recording();
        Backend backend = recording.backend;
        List<TrainingListener.Epoch> seen = new ArrayList<>();
        List<TrainingListener.Step> steps = new ArrayList<>();
        int[] trainingBatches = new int[1];
        try (backend; Trainer t = new Trainer(spec, backend, data)) {
            t.run(new TrainingListener() {
                @Override
                public void onStep(Step s) {
                    steps.add(s);
                }

                @Override
                public void onEpoch(Epoch e) {
                    seen.add(e);
                    trainingBatches[0] = recording.imageBatches.size();
                }
            }, null, null);
        }
        List<float[]> all = recording.imageBatches;
        return new Run(recording.rates, all.subList(0, trainingBatches[0]), all.subList(trainingBatches[0], all.size()),
                seen, steps);
    }

    /** The positions "row,column" of the white pixels of each image in a list of batches. */
    static List<Set<String>> whitePixels(List<float[]> batches) {
        List<Set<String>> out = new ArrayList<>();
        int size = HEIGHT * WIDTH;
        for (float[] b : batches) {
            for (int i = 0; i < b.length / size; i++) {
                Set<String> white = new HashSet<>();
                for (int p = 0; p < size; p++) {
                    if (b[i * size + p] > 0.5f) {
                        white.add(p / WIDTH + "," + p % WIDTH);
                    }
                }
                out.add(white);
            }
        }
        return out;
    }

    static boolean asStored(Set<String> white) {
        return white.size() == 1 && white.iterator().next().endsWith("," + COLUMN);
    }

    @Test
    void withoutAugmentationEveryImageIsTrainedOnAsStored() {
        Run r = train("", 2);
        assertEquals(96, whitePixels(r.training()).size(), "two epochs of 48 images");
        assertTrue(whitePixels(r.training()).stream().allMatch(TrainerScheduleAugmentationTest::asStored));
    }

    @Test
    void flipMirrorsTrainingImagesOnlyAboutHalfTheTime() {
        Run r = train(",\"augment\":{\"flip\":true}", 2);
        List<Set<String>> training = whitePixels(r.training());
        long mirrored = training.stream().filter(w -> w.size() == 1 && w.iterator().next().endsWith(","
                + (WIDTH - 1 - COLUMN))).count();
        long stored = training.stream().filter(TrainerScheduleAugmentationTest::asStored).count();
        assertEquals(96, mirrored + stored, "every image is itself or its mirror");
        assertTrue(mirrored >= 24 && mirrored <= 72, mirrored + " of 96 mirrored");
        assertEquals(16, whitePixels(r.test()).size());
        assertTrue(whitePixels(r.test()).stream().allMatch(TrainerScheduleAugmentationTest::asStored),
                "test images are never augmented");
    }

    @Test
    void cropShiftsTrainingImagesByAtMostItsPadding() {
        Run r = train(",\"augment\":{\"crop\":1}", 2);
        List<Set<String>> training = whitePixels(r.training());
        long moved = training.stream().filter(w -> !asStored(w)).count();
        assertTrue(moved > 20, moved + " of 96 shifted");
        for (Set<String> w : training) {
            assertTrue(w.size() <= 1, "a shift moves the pixel or pads it away: " + w);
            for (String p : w) {
                assertTrue(Math.abs(Integer.parseInt(p.split(",")[1]) - COLUMN) <= 1, p);
            }
        }
        assertTrue(whitePixels(r.test()).stream().allMatch(TrainerScheduleAugmentationTest::asStored),
                "test images are never augmented");
    }

    @Test
    void aStepScheduleSetsTheRateOfEveryUpdate() {
        Run r = train(",\"schedule\":{\"type\":\"step\",\"every\":2,\"gamma\":0.5}", 5);
        // 6 steps an epoch, a weight and a bias updated at each
        assertEquals(5 * 6 * 2, r.rates().size());
        double[] perEpoch = {0.1, 0.1, 0.05, 0.05, 0.025};
        for (int i = 0; i < r.rates().size(); i++) {
            assertEquals(perEpoch[i / 12], r.rates().get(i), 1e-7, "update " + i);
        }
        for (int e = 0; e < 5; e++) {
            assertEquals(perEpoch[e], r.epochs().get(e).lr(), 1e-7, "epoch " + (e + 1));
        }
        for (TrainingListener.Step s : r.steps()) {
            assertEquals(perEpoch[s.epoch() - 1], s.lr(), 1e-7, "step event " + s);
        }
    }

    @Test
    void aCosineScheduleSetsTheRateOfEveryStep() {
        Run r = train(",\"schedule\":{\"type\":\"cosine\",\"minLr\":0.01}", 3);
        int total = 3 * 6;
        assertEquals(2 * total, r.rates().size());
        for (int i = 0; i < r.rates().size(); i++) {
            int step = i / 2;
            double want = 0.01 + (0.1 - 0.01) * 0.5 * (1 + Math.cos(Math.PI * step / total));
            assertEquals(want, r.rates().get(i), 1e-7, "update " + i + " (step " + step + ")");
        }
        assertTrue(r.rates().get(r.rates().size() - 1) < 0.012, "annealed to near minLr by the last step");
    }
}
