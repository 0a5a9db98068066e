package io.kiln.engine.train;

/** Receives a training run's progress; the command line prints each call as one JSON line. */
public interface TrainingListener {

    /**
     * @param startEpoch first epoch this run trains (1-based; greater than 1 when resuming)
     */
    record Start(String device, int epochs, int stepsPerEpoch, int startEpoch, long parameters,
                 int trainSamples, int validationSamples, int testSamples) {
    }

    /** Mean training loss over the steps since the previous report, at step {@code step} of the epoch (1-based). */
    record Step(int epoch, int step, int steps, double loss, double lr) {
    }

    /** Validation figures are NaN without a validation split. */
    record Epoch(int epoch, double trainLoss, double trainAcc, double valLoss, double valAcc,
                 double samplesPerSecond, double seconds, double lr) {
    }

    /**
     * A greedy caption of one fixed image beside its ground truth.
     *
     * @param split {@code train} or {@code val}
     * @param url   the image's address from {@code *_urls.txt}, or null
     */
    record CaptionSample(String split, int image, String url, String sample, java.util.List<String> truth) {
        /**
         * Appends this sample to {@code samples} as an object {split, image, url (when known), sample, truth}: the
         * form of the {@code captions} event and of a captioning checkpoint's samples.
         */
        public void addTo(com.fasterxml.jackson.databind.node.ArrayNode samples) {
            var o = samples.addObject();
            o.put("split", split);
            o.put("image", image);
            if (url != null) {
                o.put("url", url);
            }
            o.put("sample", sample);
            truth.forEach(o.putArray("truth")::add);
        }
    }

    /** A captioning job's epoch: validation BLEU-4 (NaN without validation images) and the sampled captions. */
    record Captions(int epoch, double valBleu4, java.util.List<CaptionSample> samples) {
    }

    default void onStart(Start start) {
    }

    default void onStep(Step step) {
    }

    default void onEpoch(Epoch epoch) {
    }

    default void onCaptions(Captions captions) {
    }

    default void onCheckpoint(int epoch, java.nio.file.Path path) {
    }

    default void onDone(double testLoss, double testAcc) {
    }

    /** Human-readable progress for the log. */
    default void log(String message) {
    }
}
