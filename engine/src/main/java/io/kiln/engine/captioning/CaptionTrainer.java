package io.kiln.engine.captioning;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.data.Batches;
import io.kiln.engine.data.DatasetLoader;
import io.kiln.engine.data.captions.CaptionSplit;
import io.kiln.engine.data.captions.CaptioningData;
import io.kiln.engine.data.captions.CaptioningFormat;
import io.kiln.engine.data.captions.Vocabulary;
import io.kiln.engine.nn.Param;
import io.kiln.engine.nn.seq.CaptioningModel;
import io.kiln.engine.optim.LearningRate;
import io.kiln.engine.optim.Optimizer;
import io.kiln.engine.spec.CaptioningOptions;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.tensor.Tensor;
import io.kiln.engine.train.Trainer;
import io.kiln.engine.train.TrainingException;
import io.kiln.engine.train.TrainingListener;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Trains a captioning job: epochs of shuffled mini-batches of training captions, the per-step loss (the mean over
 * captions of each caption's summed temporal softmax loss, as CS231n reports it), per-epoch training and validation
 * loss and word accuracy, validation BLEU-4 of greedy captions, a few sampled captions of fixed training and
 * validation images, and a checkpoint after every epoch that holds the vocabulary and sizes with the weights.
 */
public final class CaptionTrainer implements AutoCloseable {
    /** About this many step reports per epoch. */
    private static final int STEP_REPORTS_PER_EPOCH = 50;

    private final JobSpec spec;
    private final Backend backend;
    private final CaptioningData data;
    private final CaptioningModel model;
    private final Optimizer optimizer;
    private final CaptionDecoder decoder;

    public CaptionTrainer(JobSpec spec, Backend backend, CaptioningData data) {
        this.spec = spec;
        this.backend = backend;
        this.data = data;
        CaptioningOptions options = CaptioningOptions.of(spec);
        this.model = new CaptioningModel(backend, options, data.featureDim(), data.vocabulary().size(),
                spec.training().seed());
        this.optimizer = new Optimizer(backend, spec.optimizer());
        optimizer.initState(model.params());
        this.decoder = new CaptionDecoder(backend, model, data.vocabulary(), spec.training().batchSize());
    }

    /** Reads the spec's captioning folder with its feature choice and caps (seeded by the training seed). */
    public static CaptioningData loadData(JobSpec spec, Path dataRoot) {
        JobSpec.Captions c = spec.data().captions();
        return CaptioningFormat.load(DatasetLoader.resolve(dataRoot, spec.data().name()),
                new CaptioningFormat.Options(c.features(), c.maxTrain(), c.maxVal(), spec.training().seed()));
    }

    public CaptioningModel model() {
        return model;
    }

    CaptionDecoder decoder() {
        return decoder;
    }

    /** The final figures of a run: the last epoch's training and validation loss and validation BLEU-4. */
    public record Result(double trainLoss, double valLoss, double valAcc, double valBleu4) {
    }

    /** Mean loss per caption and word accuracy over the non-null targets of a split. */
    public record Evaluation(double loss, double accuracy) {
    }

    public Result run(TrainingListener listener, Path outDir, Checkpoint resume) {
        CaptionSplit train = data.train();
        int batch = spec.training().batchSize(), epochs = spec.training().epochs();
        int steps = (train.size() + batch - 1) / batch;
        int startEpoch = 1;
        long globalStep = 0;
        if (resume != null) {
            CaptionCheckpoints.restore(backend, resume, model, optimizer, data);
            startEpoch = resume.epoch() + 1;
            globalStep = resume.globalStep();
            listener.log("resuming after epoch " + resume.epoch() + " (step " + globalStep + ")");
        }
        listener.log("captioning " + model.options().cell() + ": " + data.vocabulary().size() + " words, "
                + data.featureDim() + " features (" + data.features() + "), wordvec " + model.options().wordvec()
                + ", hidden " + model.options().hidden() + ", captions of " + data.length() + " words");
        listener.onStart(new TrainingListener.Start(backend.name(), epochs, steps, startEpoch, model.parameterCount(),
                train.size(), data.validation().size(), 0));
        LearningRate schedule = new LearningRate(spec.optimizer(), (long) steps * epochs);
        int reportEvery = Math.max(1, steps / STEP_REPORTS_PER_EPOCH);
        long trainTokens = targets(train);
        Result result = new Result(Double.NaN, Double.NaN, Double.NaN, Double.NaN);
        try (Tensor stats = backend.allocate(steps * 2)) {
            float[] host = new float[steps * 2];
            for (int epoch = startEpoch; epoch <= epochs; epoch++) {
                long epochStart = System.nanoTime();
                backend.fill(stats, 0f);
                int[] order = order(train.size(), spec.training().seed(), epoch);
                int reported = 0;
                double lr = schedule.at(epoch - 1, globalStep);
                for (int s = 0; s < steps; s++) {
                    lr = schedule.at(epoch - 1, globalStep);
                    int[] rows = Arrays.copyOfRange(order, s * batch, Math.min(train.size(), (s + 1) * batch));
                    try (CaptionBatch b = CaptionBatch.of(backend, train, rows)) {
                        model.loss(b.features(), b.captions(), train.length(), stats, s, true);
                    }
                    optimizer.step(model.params(), (float) lr);
                    globalStep++;
                    if ((s + 1) % reportEvery == 0 || s == steps - 1) {
                        backend.download(stats, host);
                        double sum = 0;
                        for (int i = reported; i <= s; i++) {
                            sum += host[2 * i];
                        }
                        int captions = Math.min(train.size(), (s + 1) * batch) - reported * batch;
                        double mean = sum / captions;
                        if (!Double.isFinite(mean)) {
                            throw new TrainingException.Diverged("training diverged: the loss became " + mean
                                    + " at epoch " + epoch + ", step " + (s + 1) + " of " + steps + " (learning rate "
                                    + (float) lr + "); try a lower optimizer.lr");
                        }
                        listener.onStep(new TrainingListener.Step(epoch, s + 1, steps, mean, lr));
                        reported = s + 1;
                    }
                }
                double trainSeconds = (System.nanoTime() - epochStart) / 1e9;
                double lossSum = 0, correct = 0;
                for (int i = 0; i < steps; i++) {
                    lossSum += host[2 * i];
                    correct += host[2 * i + 1];
                }
                Evaluation val = evaluate(data.validation());
                double bleu = decoder.bleu4(data.validation());
                double seconds = (System.nanoTime() - epochStart) / 1e9;
                result = new Result(lossSum / train.size(), val.loss(), val.accuracy(), bleu);
                listener.onEpoch(new TrainingListener.Epoch(epoch, result.trainLoss(), correct / trainTokens,
                        val.loss(), val.accuracy(), train.size() / trainSeconds, seconds, lr));
                List<TrainingListener.CaptionSample> samples = samples();
                listener.onCaptions(new TrainingListener.Captions(epoch, bleu, samples));
                if (outDir != null) {
                    ObjectNode info = info(result, correct / trainTokens, samples);
                    Path file = outDir.resolve(Trainer.CHECKPOINT_FILE);
                    try {
                        CaptionCheckpoints.capture(backend, model, optimizer, spec.json(), epoch, globalStep, info)
                                .write(file);
                    } catch (IOException e) {
                        throw new UncheckedIOException("cannot write checkpoint " + file + ": " + e.getMessage(), e);
                    }
                    listener.onCheckpoint(epoch, file);
                }
            }
        }
        if (startEpoch > epochs) {
            Evaluation val = evaluate(data.validation());
            result = new Result(Double.NaN, val.loss(), val.accuracy(), decoder.bleu4(data.validation()));
        }
        // There is no test split: the final figures are the validation split's.
        listener.log(String.format(java.util.Locale.ROOT, "validation BLEU-4 %.4f (the done event's test figures are "
                + "the validation loss and word accuracy)", result.valBleu4()));
        listener.onDone(result.valLoss(), result.valAcc());
        return result;
    }

    /** The checkpoint's facts: figures, model sizes, vocabulary and the last samples. */
    private ObjectNode info(Result r, double trainAcc, List<TrainingListener.CaptionSample> samples) {
        ObjectNode info = CaptionCheckpoints.describe(model, data);
        info.put("train_loss", r.trainLoss());
        info.put("train_acc", trainAcc);
        info.put("val_loss", r.valLoss());
        info.put("val_acc", r.valAcc());
        info.put("val_bleu4", r.valBleu4());
        ArrayNode arr = info.putArray("samples");
        for (TrainingListener.CaptionSample s : samples) {
            s.addTo(arr);
        }
        return info;
    }

    /** Greedy captions of the first {@code samples} images of each split (the same images every epoch). */
    public List<TrainingListener.CaptionSample> samples() {
        int k = model.options().samples();
        List<TrainingListener.CaptionSample> out = new ArrayList<>(decoder.samples(data.train(), k));
        out.addAll(decoder.samples(data.validation(), k));
        return out;
    }

    /** The number of non-null target words (positions 1 ... T-1) of a split: the denominator of word accuracy. */
    static long targets(CaptionSplit split) {
        long n = 0;
        for (int i = 0; i < split.size(); i++) {
            for (int t = 1; t < split.length(); t++) {
                if (split.word(i, t) != Vocabulary.NULL) {
                    n++;
                }
            }
        }
        return Math.max(n, 1);
    }

    public Evaluation evaluate(CaptionSplit split) {
        int batch = spec.training().batchSize();
        try (Tensor stats = backend.allocate(2)) {
            for (int from = 0; from < split.size(); from += batch) {
                int[] rows = new int[Math.min(batch, split.size() - from)];
                Arrays.setAll(rows, i -> i);
                for (int i = 0; i < rows.length; i++) {
                    rows[i] += from;
                }
                try (CaptionBatch b = CaptionBatch.of(backend, split, rows)) {
                    model.loss(b.features(), b.captions(), split.length(), stats, 0, false);
                }
            }
            float[] s = backend.toHost(stats);
            return new Evaluation(s[0] / split.size(), s[1] / targets(split));
        }
    }

    /** A permutation of the training captions, a function of the seed and the epoch. */
    static int[] order(int n, long seed, int epoch) {
        return Batches.permutation(n, new SplittableRandom(seed * 1_000_003L + epoch));
    }

    public List<Param> params() {
        return model.params();
    }

    @Override
    public void close() {
        model.close();
    }
}
