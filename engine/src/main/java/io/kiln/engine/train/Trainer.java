package io.kiln.engine.train;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.CounterRandom;
import io.kiln.engine.data.Augmentation;
import io.kiln.engine.data.ImageTransform;
import io.kiln.engine.data.TrainingSampler;
import io.kiln.engine.backend.LossKind;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.checkpoint.ModelState;
import io.kiln.engine.data.Dataset;
import io.kiln.engine.data.DatasetLoader;
import io.kiln.engine.data.PreparedData;
import io.kiln.engine.data.ResizePad;
import io.kiln.engine.loss.Losses;
import io.kiln.engine.nn.Dropout;
import io.kiln.engine.nn.Model;
import io.kiln.engine.optim.LearningRate;
import io.kiln.engine.optim.Optimizer;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.tensor.Tensor;
import io.kiln.engine.weights.WeightImport;
import io.kiln.engine.weights.WeightTensor;
import io.kiln.engine.weights.WeightsException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Trains one job spec on one backend: epochs of shuffled mini-batches, per-step loss, per-epoch training and
 * validation figures, a checkpoint after every epoch, and a final test evaluation.
 *
 * <p>Loss and accuracy stay in a device-side statistics tensor during an epoch and are read back only every
 * few steps, so a GPU backend is not made to wait for the host after each step.
 */
public final class Trainer implements AutoCloseable {
    /** Name of the checkpoint file written in the output folder after each epoch. */
    public static final String CHECKPOINT_FILE = "checkpoint.kiln";
    /** Name of the file in the output folder where the command line appends every event of every run. */
    public static final String EVENTS_FILE = "events.jsonl";
    /** About this many step reports per epoch. */
    private static final int STEP_REPORTS_PER_EPOCH = 50;

    private final JobSpec spec;
    private final Backend backend;
    private final PreparedData data;
    private final Model model;
    private final LossKind loss;
    private final Optimizer optimizer;
    private final Batcher batcher;
    /** How training samples are augmented or transformed at random; null when they are used as stored. */
    private final TrainingSampler sampler;

    /** The model's parameter count as {trainable, frozen} ({@code init.freeze} decides which is which). */
    public long[] parameterCounts() {
        long trainable = 0;
        long frozen = 0;
        for (var p : model.params()) {
            if (p.frozen()) {
                frozen += p.value().size();
            } else {
                trainable += p.value().size();
            }
        }
        return new long[] {trainable, frozen};
    }

    public Trainer(JobSpec spec, Backend backend, PreparedData data) {
        this.spec = spec;
        this.backend = backend;
        this.data = data;
        int[] inputShape = data.train().sampleShape();
        int classes = data.train().numClasses();
        this.model = Model.build(backend, spec, inputShape, classes);
        this.loss = Losses.of(spec.loss());
        Losses.checkOutput(loss, model.outputShape(), classes, spec.data().name());
        Freezing.apply(model, spec.init() == null ? JobSpec.Freeze.NONE : spec.init().freeze());
        this.optimizer = new Optimizer(backend, spec.optimizer());
        optimizer.initState(model.params());
        this.batcher = new Batcher(backend, spec.training().batchSize(), inputShape);
        JobSpec.Augment aug = spec.data().augment();
        ImageTransform transform = imageTransform(spec.data());
        if (transform != null) {
            this.sampler = transform.random() ? transform : null;
        } else {
            this.sampler = aug.enabled() ? new Augmentation(aug.crop(), aug.flip(), data.train()) : null;
        }
    }

    /** The spec's {@code data.transform} as the data package applies it, or null without one. */
    public static ImageTransform imageTransform(JobSpec.Data d) {
        JobSpec.Transform t = d.transform();
        return t == null ? null : new ImageTransform(t.centerCrop(), t.resize(), t.randomResizedCrop() > 0, t.scale(),
                t.ratio(), t.flip());
    }

    /** The spec's {@code data.resize} and {@code data.pad}, or null without either. */
    public static ResizePad resizePad(JobSpec.Data d) {
        return ResizePad.of(d.resize(), d.pad());
    }

    /**
     * Loads the spec's dataset from the data root (resized and padded, or transformed, as it says), splits off
     * the validation part (seeded by the training seed) and normalises all parts with statistics of the training
     * part alone.
     */
    public static PreparedData loadData(JobSpec spec, Path dataRoot) {
        JobSpec.Data d = spec.data();
        return DatasetLoader.load(dataRoot, d.name(), imageTransform(d), resizePad(d))
                .prepare(d.validationSplit(), spec.training().seed(), d.normalize(), d.mean(), d.std());
    }

    /**
     * Starts from another run's weights (fine-tuning). Every parameter is loaded, except that the last layer
     * with parameters may differ in shape (a new head for another number of classes): it keeps its fresh
     * initialisation. Any other mismatch is an error.
     */
    public void startFrom(Checkpoint checkpoint) {
        List<io.kiln.engine.nn.Param> params = model.params();
        String head = params.isEmpty() ? "" : layerName(params.get(params.size() - 1).name());
        List<String> fresh = new java.util.ArrayList<>();
        for (io.kiln.engine.nn.Param p : params) {
            Checkpoint.Entry e = checkpoint.tensor(p.name());
            boolean fits = e != null && Arrays.equals(e.shape(), p.value().shape());
            if (!fits && layerName(p.name()).equals(head)) {
                fresh.add(p.name());
            } else if (!fits) {
                throw new SpecException("init", "the checkpoint does not fit the model: " + p.name() + " is "
                        + Arrays.toString(p.value().shape()) + " in the model but "
                        + (e == null ? "missing" : Arrays.toString(e.shape())) + " in the checkpoint");
            }
        }
        Checkpoint load = checkpoint;
        if (fresh.isEmpty()) {
            List<String> headParams = params.stream().map(io.kiln.engine.nn.Param::name)
                    .filter(n -> layerName(n).equals(head)).toList();
            ClassOrder.Match match = ClassOrder.match(checkpoint, headParams, data.train().classNames());
            load = match.checkpoint();
            classNote = match.note();
        }
        ModelState.restore(backend, load, model, null, fresh);
        replacedHead = !fresh.isEmpty();
    }

    /**
     * Starts from pretrained PyTorch-named weights ({@link WeightImport}): every tensor must fit, except that the last
     * layer with parameters may differ in shape and then keeps its fresh initialisation (a new head).
     *
     * @throws SpecException naming {@code init.model} and listing every missing, unexpected and mis-shaped tensor
     */
    public void startFrom(Map<String, WeightTensor> weights, String source) {
        try {
            replacedHead = !WeightImport.load(backend, model, weights, source, true).freshHead().isEmpty();
        } catch (WeightsException e) {
            throw new SpecException("init.model", e.getMessage());
        }
    }

    private boolean replacedHead;
    private String classNote;

    /** What {@link #startFrom} found of the checkpoint's class names against the dataset's (null: nothing to say). */
    public String classNote() {
        return classNote;
    }

    /** Whether {@link #startFrom} kept a fresh last layer because the checkpoint's had another shape. */
    public boolean replacedHead() {
        return replacedHead;
    }

    private static String layerName(String paramName) {
        return paramName.substring(0, paramName.lastIndexOf('.'));
    }

    /** One line per top-level layer: index, name, type, output shape, parameters, frozen. */
    public List<String> summary() {
        List<String> lines = new java.util.ArrayList<>();
        List<io.kiln.engine.nn.Layer> top = model.root().layers();
        for (int i = 0; i < top.size(); i++) {
            io.kiln.engine.nn.Layer l = top.get(i);
            lines.add(String.format(java.util.Locale.ROOT, "%3d %-22s %-16s out %-16s %,10d params%s", i, l.name(),
                    l.getClass().getSimpleName(), Arrays.toString(l.outputShape()), l.parameterCount(),
                    l.frozen() ? " (frozen)" : ""));
        }
        return lines;
    }

    public Model model() {
        return model;
    }

    public Optimizer optimizer() {
        return optimizer;
    }

    /** The final figures of a run. */
    public record Result(int epochs, double testLoss, double testAcc, double lastValAcc, double seconds) {
    }

    /** Evaluation of a dataset: mean loss and accuracy. */
    public record Evaluation(double loss, double accuracy, int samples) {
    }

    /**
     * Runs the remaining epochs. With {@code resume}, continues after the checkpoint's epoch with its weights
     * and optimizer state; with {@code outDir}, writes {@link #CHECKPOINT_FILE} there after every epoch.
     */
    public Result run(TrainingListener listener, Path outDir, Checkpoint resume) {
        long started = System.nanoTime();
        int epochs = spec.training().epochs();
        int steps = batcher.batches(data.train().size());
        int startEpoch = 1;
        long globalStep = 0;
        if (resume != null) {
            ModelState.restore(backend, resume, model, optimizer, List.of());
            startEpoch = resume.epoch() + 1;
            globalStep = resume.globalStep();
            for (Dropout d : model.dropouts()) {
                d.setCalls(globalStep);
            }
            listener.log("resuming after epoch " + resume.epoch() + " (step " + globalStep + ")");
        }
        summary().forEach(listener::log);
        listener.onStart(new TrainingListener.Start(backend.name(), epochs, steps, startEpoch, model.parameterCount(),
                data.train().size(), data.validation() == null ? 0 : data.validation().size(), data.test().size()));
        LearningRate schedule = new LearningRate(spec.optimizer(), (long) steps * epochs);
        int reportEvery = Math.max(1, steps / STEP_REPORTS_PER_EPOCH);
        double lastValAcc = Double.NaN;
        try (Tensor stats = backend.allocate(steps * 2)) {
            float[] host = new float[steps * 2];
            for (int epoch = startEpoch; epoch <= epochs; epoch++) {
                long epochStart = System.nanoTime();
                backend.fill(stats, 0f);
                int[] order = batcher.order(data.train().size(), spec.training().seed(), epoch);
                int reported = 0;
                double lr = schedule.at(epoch - 1, globalStep);
                for (int s = 0; s < steps; s++) {
                    lr = schedule.at(epoch - 1, globalStep);
                    Batcher.Batch b = batcher.load(data.train(), order, s, sampler,
                            CounterRandom.mix(spec.training().seed(), epoch));
                    Tensor out = model.forward(b.x(), true);
                    Tensor grad = batcher.gradient(out.shape());
                    backend.loss(loss, out, b.y(), grad, stats, s);
                    model.backward(grad);
                    optimizer.step(model.params(), (float) lr);
                    globalStep++;
                    if ((s + 1) % reportEvery == 0 || s == steps - 1) {
                        backend.download(stats, host);
                        checkFinite(host, reported, s + 1, epoch, steps, lr);
                        double sum = 0;
                        int n = 0;
                        for (int i = reported; i <= s; i++) {
                            sum += host[2 * i];
                            n += batcher.batchSize(data.train().size(), i);
                        }
                        listener.onStep(new TrainingListener.Step(epoch, s + 1, steps, sum / n, lr));
                        reported = s + 1;
                    }
                }
                double trainSeconds = (System.nanoTime() - epochStart) / 1e9;
                double lossSum = 0;
                double correct = 0;
                for (int i = 0; i < steps; i++) {
                    lossSum += host[2 * i];
                    correct += host[2 * i + 1];
                }
                int n = data.train().size();
                Evaluation val = data.validation() == null ? null : evaluate(data.validation());
                lastValAcc = val == null ? Double.NaN : val.accuracy();
                double seconds = (System.nanoTime() - epochStart) / 1e9;
                listener.onEpoch(new TrainingListener.Epoch(epoch, lossSum / n, correct / n,
                        val == null ? Double.NaN : val.loss(), lastValAcc, n / trainSeconds, seconds, lr));
                if (outDir != null) {
                    ObjectNode info = JsonNodeFactory.instance.objectNode();
                    info.put("train_loss", lossSum / n);
                    info.put("train_acc", correct / n);
                    if (val != null) {
                        info.put("val_loss", val.loss());
                        info.put("val_acc", val.accuracy());
                    }
                    describeData(info);
                    Path file = outDir.resolve(CHECKPOINT_FILE);
                    try {
                        ModelState.capture(backend, model, optimizer, spec.json(), epoch, globalStep, info).write(file);
                    } catch (IOException e) {
                        throw new UncheckedIOException("cannot write checkpoint " + file + ": " + e.getMessage(), e);
                    }
                    listener.onCheckpoint(epoch, file);
                }
            }
        }
        Evaluation test = evaluate(data.test());
        listener.onDone(test.loss(), test.accuracy());
        return new Result(epochs, test.loss(), test.accuracy(), lastValAcc, (System.nanoTime() - started) / 1e9);
    }

    /**
     * What a checkpoint needs to classify new images without the training data: class names, sample shape
     * and the normalisation (whose statistics may have come from the training part).
     */
    private void describeData(ObjectNode info) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        info.set("classNames", f.arrayNode().addAll(data.train().classNames().stream().map(f::textNode).toList()));
        var shape = info.putArray("inputShape");
        for (int d : data.train().sampleShape()) {
            shape.add(d);
        }
        ObjectNode norm = info.putObject("normalization");
        norm.put("kind", data.normalization().kind().specName());
        if (data.normalization().mean() != null) {
            var mean = norm.putArray("mean");
            var std = norm.putArray("std");
            for (float v : data.normalization().mean()) {
                mean.add(v);
            }
            for (float v : data.normalization().std()) {
                std.add(v);
            }
        }
    }

    /** Loads a checkpoint's weights and buffers (not its optimizer state), e.g. for evaluation. */
    public void loadWeights(Checkpoint checkpoint) {
        ModelState.restore(backend, checkpoint, model, null, List.of());
    }

    /**
     * The model's outputs (evaluation mode) for every sample of a dataset, {@code size * outputs} floats in
     * sample order: probabilities for softmax cross-entropy and logistic models (the positive class's for
     * the latter), raw scores otherwise.
     */
    public float[] predict(Dataset set) {
        return Inference.scores(backend, model, loss, set, batcher);
    }

    public LossKind lossKind() {
        return loss;
    }

    /** Mean loss and accuracy of the model (in evaluation mode) over a dataset. */
    public Evaluation evaluate(Dataset set) {
        int steps = batcher.batches(set.size());
        int[] order = new int[set.size()];
        Arrays.setAll(order, i -> i);
        try (Tensor stats = backend.allocate(2)) {
            for (int s = 0; s < steps; s++) {
                Batcher.Batch b = batcher.load(set, order, s);
                Tensor out = model.forward(b.x(), false);
                backend.loss(loss, out, b.y(), null, stats, 0);
            }
            float[] host = backend.toHost(stats);
            return new Evaluation(host[0] / set.size(), host[1] / set.size(), set.size());
        }
    }

    private void checkFinite(float[] host, int from, int to, int epoch, int steps, double lr) {
        for (int i = from; i < to; i++) {
            if (!Float.isFinite(host[2 * i])) {
                throw new TrainingException.Diverged("training diverged: the loss became "
                        + (Float.isNaN(host[2 * i]) ? "NaN" : "infinite") + " at epoch " + epoch + ", step " + (i + 1)
                        + " of " + steps + " (learning rate " + (float) lr + "); try a lower optimizer.lr, e.g. "
                        + (float) (spec.optimizer().lr() / 10));
            }
        }
    }

    @Override
    public void close() {
        batcher.close();
        model.close();
    }
}
