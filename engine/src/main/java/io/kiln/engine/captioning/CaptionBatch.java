package io.kiln.engine.captioning;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.data.captions.CaptionSplit;
import io.kiln.engine.tensor.Tensor;

/** Some captions of a split: their image features on the device {@code [n, D]} and their words on the host. */
record CaptionBatch(Tensor features, int[] captions) implements AutoCloseable {

    static CaptionBatch of(Backend backend, CaptionSplit split, int[] rows) {
        int d = split.featureDim(), t = split.length();
        float[] feats = new float[rows.length * d];
        int[] words = new int[rows.length * t];
        for (int i = 0; i < rows.length; i++) {
            split.copyFeatures(rows[i], feats, i * d);
            split.copyCaption(rows[i], words, i * t);
        }
        return new CaptionBatch(backend.fromHost(feats, rows.length, d), words);
    }

    @Override
    public void close() {
        features.close();
    }
}
