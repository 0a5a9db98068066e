package io.kiln.engine.data.captions;

/**
 * A captioning data set as loaded for one job: its vocabulary, the training and validation captions with their
 * image features, and which feature file they came from ({@code fc7} or {@code fc7_pca}).
 */
public record CaptioningData(Vocabulary vocabulary, CaptionSplit train, CaptionSplit validation, String features) {
    public int featureDim() {
        return train.featureDim();
    }

    /** Words per caption as stored (the model reads the first T - 1 and predicts the last T - 1). */
    public int length() {
        return train.length();
    }
}
