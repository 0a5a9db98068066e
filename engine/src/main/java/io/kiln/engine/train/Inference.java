package io.kiln.engine.train;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.LossKind;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.checkpoint.ModelState;
import io.kiln.engine.data.Dataset;
import io.kiln.engine.data.Normalization;
import io.kiln.engine.data.ResizePad;
import io.kiln.engine.loss.Losses;
import io.kiln.engine.nn.Model;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecParser;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A trained model for prediction, rebuilt from a checkpoint alone: its spec, the class names, sample shape and
 * normalisation the trainer saved with the weights.
 */
public final class Inference implements AutoCloseable {
    private final Backend backend;
    private final Model model;
    private final LossKind loss;
    private final List<String> classNames;
    private final int[] sampleShape;
    private final Normalization normalization;
    private final Batcher batcher;
    /** The spec's evaluation transform, or null when images are only resized to the input shape. */
    private final io.kiln.engine.data.ImageTransform transform;
    /** The spec's {@code data.resize} and {@code data.pad}, or null. */
    private final ResizePad resizePad;

    public Inference(Backend backend, Checkpoint checkpoint) {
        this.backend = backend;
        JobSpec spec = SpecParser.parse(checkpoint.spec());
        var info = checkpoint.info();
        if (!info.has("classNames") || !info.has("inputShape")) {
            throw new Checkpoint.CheckpointException("the checkpoint lacks the class names and input shape needed to "
                    + "classify new images (it was written by an older Kiln)");
        }
        classNames = new ArrayList<>();
        info.get("classNames").forEach(n -> classNames.add(n.asText()));
        sampleShape = new int[info.get("inputShape").size()];
        for (int i = 0; i < sampleShape.length; i++) {
            sampleShape[i] = info.get("inputShape").get(i).asInt();
        }
        var norm = info.path("normalization");
        normalization = Normalization.of(norm.path("kind").asText("scale"), floats(norm.get("mean")),
                floats(norm.get("std")), null);
        this.loss = Losses.of(spec.loss());
        this.model = Model.build(backend, spec, sampleShape, classNames.size());
        ModelState.restore(backend, checkpoint, model, null, List.of());
        this.batcher = new Batcher(backend, spec.training().batchSize(), sampleShape);
        JobSpec.Transform t = spec.data().transform();
        this.transform = t == null ? null : io.kiln.engine.data.ImageTransform.evaluation(t.centerCrop(), t.resize());
        this.resizePad = Trainer.resizePad(spec.data());
    }

    /**
     * New images (PNG or JPEG bytes) as samples of the model's input, prepared as its evaluation data were: through
     * the spec's resize and centre crop when it has {@code data.transform}; else resized to the input shape, less
     * the padding of {@code data.pad}, which is then added.
     */
    public Dataset samples(List<byte[]> encoded, List<String> names) {
        if (resizePad != null && resizePad.pad() > 0) {
            Dataset unpadded = io.kiln.engine.data.ImageSamples.of(encoded, names, resizePad.unpadded(sampleShape),
                    classNames, null);
            return resizePad.padOnly().apply(unpadded);
        }
        return io.kiln.engine.data.ImageSamples.of(encoded, names, sampleShape, classNames, transform);
    }

    /** The model, for exporting it. */
    public Model model() {
        return model;
    }

    private static float[] floats(com.fasterxml.jackson.databind.JsonNode a) {
        if (a == null || !a.isArray()) {
            return null;
        }
        float[] f = new float[a.size()];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) a.get(i).asDouble();
        }
        return f;
    }

    public List<String> classNames() {
        return classNames;
    }

    /** [C, H, W] of the images the model takes. */
    public int[] sampleShape() {
        return sampleShape.clone();
    }

    public Normalization normalization() {
        return normalization;
    }

    public LossKind loss() {
        return loss;
    }

    /** Scores of every sample of {@code set} (whose bytes are normalised as in training); see {@link #scores(Backend, Model, LossKind, Dataset, Batcher)}. */
    public float[] scores(Dataset set) {
        if (!Arrays.equals(set.sampleShape(), sampleShape)) {
            throw new IllegalArgumentException("samples are " + Arrays.toString(set.sampleShape()) + " but the model takes "
                    + Arrays.toString(sampleShape));
        }
        return scores(backend, model, loss, set.withNormalization(normalization), batcher);
    }

    /**
     * The model's outputs (evaluation mode) for every sample, {@code size * outputs} floats in sample order:
     * probabilities for softmax cross-entropy and logistic models (the positive class's for the latter), raw
     * scores otherwise.
     */
    static float[] scores(Backend backend, Model model, LossKind loss, Dataset set, Batcher batcher) {
        int k = model.outputShape()[0];
        float[] all = new float[set.size() * k];
        int[] order = new int[set.size()];
        Arrays.setAll(order, i -> i);
        int offset = 0;
        for (int s = 0, steps = batcher.batches(set.size()); s < steps; s++) {
            Batcher.Batch b = batcher.load(set, order, s);
            float[] host = reported(backend, loss, model.forward(b.x(), false));
            System.arraycopy(host, 0, all, offset, host.length);
            offset += host.length;
        }
        return all;
    }

    /**
     * On the host, what a model trained with {@code loss} reports for its output {@code scores}: probabilities where
     * the loss {@link LossKind#givesProbabilities gives them}, else the raw scores.
     */
    public static float[] reported(Backend backend, LossKind loss, Tensor scores) {
        if (!loss.givesProbabilities()) {
            return backend.toHost(scores);
        }
        try (Tensor p = backend.allocate(scores.shape())) {
            if (loss == LossKind.LOGISTIC) {
                backend.activationForward(Activation.SIGMOID, scores, p);
            } else {
                backend.softmax(scores, p);
            }
            return backend.toHost(p);
        }
    }

    @Override
    public void close() {
        batcher.close();
        model.close();
    }
}
