package io.kiln.engine.spec;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * A training job as CONTRACT.md defines it: the same document for the engine's command line, the REST API
 * and the client. Built only by {@link SpecParser}, which checks every rule; {@link #json()} is the document
 * as submitted, which checkpoints and the service store.
 */
public record JobSpec(String name, Data data, Model model, String loss, Optimizer optimizer,
                      Training training, String device, Init init, JsonNode json) {

    public static final List<String> LOSSES = List.of("softmax_cross_entropy", "multiclass_hinge", "logistic", "mse",
            "temporal_softmax");

    /**
     * @param normalize {@code scale} (to [0,1]), {@code standardize} (then per-channel mean/std of the training
     *                  part, or the given {@code mean}/{@code std}) or {@code none} (raw 0..255)
     * @param resize    {@code [height, width]} every image is resized to (bilinear), or null to keep their size
     * @param pad       pixels of zeros added on each side of every image, after the resize (0: none)
     */
    public record Data(String name, double validationSplit, String normalize, float[] mean, float[] std,
                       Augment augment, Transform transform, int[] resize, int pad, Captions captions) {
    }

    /**
     * What a captioning data set is read with.
     *
     * @param features  {@code fc7} or {@code fc7_pca}, or null: the PCA variant when the folder has it, else fc7
     * @param maxTrain  training captions kept (a seeded sample), 0 for all
     * @param maxVal    validation images kept (a seeded sample, with all their captions), 0 for all
     */
    public record Captions(String features, int maxTrain, int maxVal) {
        public static final int DEFAULT_MAX_VAL = 1000;
        public static final Captions DEFAULT = new Captions(null, 0, DEFAULT_MAX_VAL);
    }

    /**
     * ImageNet-style preprocessing of image folders, whose images may then differ in size (torchvision's
     * {@code RandomResizedCrop}, {@code RandomHorizontalFlip}, {@code Resize} and {@code CenterCrop}). Evaluation
     * images (validation, test, prediction) are resized so that their shorter side is {@code resize}, then cut to
     * their centre {@code centerCrop} square. Training images get a random crop of a {@code scale} fraction of
     * their area with an aspect ratio in {@code ratio}, resized to {@code randomResizedCrop} square, or without it
     * the evaluation transform; then, with {@code flip}, a horizontal flip with probability 1/2.
     *
     * @param randomResizedCrop the side of the training crops, equal to centerCrop; 0 for none
     * @param scale             [min, max] fraction of the image's area a training crop covers
     * @param ratio             [min, max] aspect ratio (width / height) of a training crop
     */
    public record Transform(int randomResizedCrop, double[] scale, double[] ratio, boolean flip, int resize,
                            int centerCrop) {
        public static final double[] DEFAULT_SCALE = {0.08, 1.0};
        public static final double[] DEFAULT_RATIO = {3.0 / 4.0, 4.0 / 3.0};

        /** The evaluation-only transform (no random crop, no flip). */
        public static Transform evaluation(int resize, int centerCrop) {
            return new Transform(0, DEFAULT_SCALE, DEFAULT_RATIO, false, resize, centerCrop);
        }
    }

    /**
     * Training-time augmentation of images, off by default: a random crop of the image padded by {@code crop}
     * pixels on each side (0: none), and a horizontal flip with probability 1/2.
     */
    public record Augment(int crop, boolean flip) {
        public static final Augment NONE = new Augment(0, false);

        public boolean enabled() {
            return crop > 0 || flip;
        }
    }

    /**
     * Start from trained weights: a checkpoint file, another job's checkpoint, or a pretrained model uploaded to the
     * service (PyTorch or safetensors weights; the service resolves both names to files). Parameters whose shape differs in the model's last learned layer are initialised afresh (a new head for
     * another number of classes). {@code freeze} names the layers whose parameters and batch-norm statistics stay
     * fixed.
     */
    public record Init(String checkpoint, String fromJob, String model, Freeze freeze) {
    }

    /**
     * Layers that keep their weights while the others train: indices into {@code model.layers} (after a preset is
     * expanded), layer names (Kiln's {@code layers.3}, or the PyTorch names of {@link io.kiln.engine.nn.ModuleNames}
     * such as {@code conv1}, {@code layer2} or {@code layer2.0.bn1}), or every layer with weights but the last.
     *
     * @param entries   the {@code freeze} array's items, each an Integer (an index) or a String (a name)
     * @param allButLast {@code "freeze": "all-but-last"}
     */
    public record Freeze(List<Object> entries, boolean allButLast) {
        public static final Freeze NONE = new Freeze(List.of(), false);

        public boolean any() {
            return allButLast || !entries.isEmpty();
        }
    }

    /** Either explicit layers, or a preset with its options (expanded once the data's shape is known). */
    public record Model(int[] input, List<LayerSpec> layers, String preset, JsonNode presetOptions) {
    }

    public record Schedule(String type, int every, double gamma, double minLr) {
    }

    public record Optimizer(String type, double lr, double momentum, boolean nesterov, double weightDecay,
                            double alpha, double beta1, double beta2, double eps, Schedule schedule) {
    }

    public record Training(int epochs, int batchSize, long seed, String precision) {
    }
}
