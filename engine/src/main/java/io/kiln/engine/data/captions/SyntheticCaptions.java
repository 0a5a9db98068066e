package io.kiln.engine.data.captions;

import io.jhdf.HdfFile;
import io.jhdf.WritableHdfFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Generated captioning folders in CS231n's {@code coco_captioning} layout, written with jHDF: the captions file,
 * the vocabulary, fc7 features (and, on request, a PCA-sized twin) and URL lists. Small sets for the tests and for
 * trying the captioning job type without COCO: one whose captions follow from the features, one to memorise.
 */
public final class SyntheticCaptions {
    private SyntheticCaptions() {
    }

    /** One split: captions {@code [N, T]}, the image of each, and the features {@code [M, D]}. */
    public record Split(int[][] captions, int[] imageIdxs, float[][] features) {
    }

    public static void write(Path folder, List<String> words, Split train, Split val, boolean pca, boolean urls)
            throws IOException {
        Files.createDirectories(folder);
        try (WritableHdfFile h = HdfFile.write(folder.resolve("coco2014_captions.h5"))) {
            h.putDataset("train_captions", train.captions());
            h.putDataset("train_image_idxs", train.imageIdxs());
            h.putDataset("val_captions", val.captions());
            h.putDataset("val_image_idxs", val.imageIdxs());
        }
        writeFeatures(folder.resolve("train2014_vgg16_fc7.h5"), train.features());
        writeFeatures(folder.resolve("val2014_vgg16_fc7.h5"), val.features());
        if (pca) {
            writeFeatures(folder.resolve("train2014_vgg16_fc7_pca.h5"), half(train.features()));
            writeFeatures(folder.resolve("val2014_vgg16_fc7_pca.h5"), half(val.features()));
        }
        StringBuilder json = new StringBuilder("{\"idx_to_word\": [");
        Map<String, Integer> index = new LinkedHashMap<>();
        for (int i = 0; i < words.size(); i++) {
            json.append(i == 0 ? "" : ", ").append('"').append(words.get(i)).append('"');
            index.put(words.get(i), i);
        }
        json.append("], \"word_to_idx\": {");
        int k = 0;
        for (Map.Entry<String, Integer> e : index.entrySet()) {
            json.append(k++ == 0 ? "" : ", ").append('"').append(e.getKey()).append("\": ").append(e.getValue());
        }
        json.append("}}");
        Files.writeString(folder.resolve("coco2014_vocab.json"), json, StandardCharsets.UTF_8);
        if (urls) {
            for (String split : List.of("train", "val")) {
                int m = (split.equals("train") ? train : val).features().length;
                List<String> lines = new ArrayList<>();
                for (int i = 0; i < m; i++) {
                    lines.add("http://images.example/" + split + "/" + i + ".jpg");
                }
                Files.write(folder.resolve(split + "2014_urls.txt"), lines);
            }
        }
    }

    private static void writeFeatures(Path file, float[][] features) {
        try (WritableHdfFile h = HdfFile.write(file)) {
            h.putDataset("features", features);
        }
    }

    /** The first half of each feature vector: a stand-in for the PCA file, of another width. */
    private static float[][] half(float[][] f) {
        float[][] out = new float[f.length][];
        for (int i = 0; i < f.length; i++) {
            out[i] = java.util.Arrays.copyOf(f[i], f[i].length / 2);
        }
        return out;
    }

    /**
     * A learnable set: each image has four attributes (colour, animal, action, place) of four values each; its
     * features are Gaussian noise plus a bump on one of four coordinates per attribute, and its two captions say the
     * attributes in two phrasings, "a red dog is running on the grass" and "the red dog running on a grass".
     */
    public static final List<String> ATTRIBUTE_WORDS = List.of("<NULL>", "<START>", "<END>", "<UNK>", "a", "the", "is",
            "on", "red", "blue", "green", "white", "dog", "cat", "horse", "bird", "running", "sitting", "eating",
            "sleeping", "grass", "table", "road", "beach");
    /** Words per caption in the file: {@code <START>}, at most 9 words, {@code <END>}, padding. */
    public static final int ATTRIBUTE_LENGTH = 12;
    public static final int ATTRIBUTE_DIM = 16;

    public static Split attributes(int images, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] feats = new float[images][ATTRIBUTE_DIM];
        int[][] caps = new int[2 * images][];
        int[] idxs = new int[2 * images];
        for (int i = 0; i < images; i++) {
            int[] a = new int[4];
            for (int k = 0; k < 4; k++) {
                a[k] = r.nextInt(4);
            }
            for (int j = 0; j < ATTRIBUTE_DIM; j++) {
                feats[i][j] = (float) (r.nextGaussian() * 0.5);
            }
            for (int k = 0; k < 4; k++) {
                feats[i][4 * k + a[k]] += 2f;
            }
            int colour = 8 + a[0], animal = 12 + a[1], action = 16 + a[2], place = 20 + a[3];
            caps[2 * i] = pad(new int[] {1, 4, colour, animal, 6, action, 7, 5, place, 2});
            caps[2 * i + 1] = pad(new int[] {1, 5, colour, animal, action, 7, 4, place, 2});
            idxs[2 * i] = i;
            idxs[2 * i + 1] = i;
        }
        return new Split(caps, idxs, feats);
    }

    /**
     * A set to memorise: one random caption of 3 to 9 random words per image, random Gaussian features, so that
     * only the pairing of these features with these words can be learnt.
     */
    public static Split random(int images, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[][] feats = new float[images][ATTRIBUTE_DIM];
        int[][] caps = new int[images][];
        int[] idxs = new int[images];
        for (int i = 0; i < images; i++) {
            for (int j = 0; j < ATTRIBUTE_DIM; j++) {
                feats[i][j] = (float) r.nextGaussian();
            }
            int len = 3 + r.nextInt(7);
            int[] c = new int[len + 2];
            c[0] = 1;
            for (int t = 1; t <= len; t++) {
                c[t] = 4 + r.nextInt(vocab - 4);
            }
            c[len + 1] = 2;
            caps[i] = pad(c);
            idxs[i] = i;
        }
        return new Split(caps, idxs, feats);
    }

    private static int[] pad(int[] c) {
        return java.util.Arrays.copyOf(c, ATTRIBUTE_LENGTH);
    }
}
