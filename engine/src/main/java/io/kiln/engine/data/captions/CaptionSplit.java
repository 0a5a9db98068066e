package io.kiln.engine.data.captions;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One part (training or validation) of a captioning data set: captions of {@code length} word indices, each
 * starting with {@code <START>} and padded with {@code <NULL>} after its {@code <END>}, and the image feature
 * vector of each caption. Only the images the captions refer to are kept, each once: {@link #copyFeatures} reads
 * caption i's row of them, and {@link #imageIndex} gives its image's index in the original feature file (and URL
 * list).
 */
public final class CaptionSplit {
    private final String name;
    private final int[] captions;
    private final int length;
    private final int[] featureRow;
    private final int[] imageIndex;
    private final float[] features;
    private final int featureDim;
    private final List<String> urls;

    CaptionSplit(String name, int[] captions, int length, int[] featureRow, int[] imageIndex, float[] features,
                 int featureDim, List<String> urls) {
        this.name = name;
        this.captions = captions;
        this.length = length;
        this.featureRow = featureRow;
        this.imageIndex = imageIndex;
        this.features = features;
        this.featureDim = featureDim;
        this.urls = urls;
    }

    /** {@code train} or {@code val}. */
    public String name() {
        return name;
    }

    public int size() {
        return featureRow.length;
    }

    /** Words per caption, T. */
    public int length() {
        return length;
    }

    public int featureDim() {
        return featureDim;
    }

    /** Caption i's words into {@code dst[off ... off + length)}. */
    public void copyCaption(int i, int[] dst, int off) {
        System.arraycopy(captions, i * length, dst, off, length);
    }

    public int[] caption(int i) {
        int[] c = new int[length];
        copyCaption(i, c, 0);
        return c;
    }

    public int word(int i, int t) {
        return captions[i * length + t];
    }

    /** Caption i's image features into {@code dst[off ... off + featureDim)}. */
    public void copyFeatures(int i, float[] dst, int off) {
        System.arraycopy(features, featureRow[i] * featureDim, dst, off, featureDim);
    }

    public int imageIndex(int i) {
        return imageIndex[i];
    }

    /** The image's URL from {@code *_urls.txt}, or null without one. */
    public String url(int i) {
        int img = imageIndex[i];
        return urls == null || img >= urls.size() ? null : urls.get(img);
    }

    /** The captions of each image, keyed by image index, in order of first appearance. */
    public Map<Integer, List<Integer>> captionsByImage() {
        Map<Integer, List<Integer>> out = new LinkedHashMap<>();
        for (int i = 0; i < size(); i++) {
            out.computeIfAbsent(imageIndex[i], k -> new ArrayList<>()).add(i);
        }
        return out;
    }
}
