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

    public static final List<String> LOSSES = List.of("softmax_cross_entropy", "multiclass_hinge", "logistic", "mse");

    /**
     * @param normalize {@code scale} (to [0,1]), {@code standardize} (then per-channel mean/std of the training
     *                  part, or the given {@code mean}/{@code std}) or {@code none} (raw 0..255)
     */
    public record Data(String name, double validationSplit, String normalize, float[] mean, float[] std,
                       Augment augment) {
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
     * Start from trained weights: a checkpoint file, or another job's checkpoint (resolved by the service).
     * Parameters whose shape differs in the model's last learned layer are initialised afresh (a new head for
     * another number of classes). {@code freeze} lists indices into {@code model.layers} (after a preset is
     * expanded) whose parameters and batch-norm statistics stay fixed.
     */
    public record Init(String checkpoint, String fromJob, int[] freeze) {
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
