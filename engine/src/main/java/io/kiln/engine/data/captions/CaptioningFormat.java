package io.kiln.engine.data.captions;

import io.kiln.engine.data.DataException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * CS231n's {@code coco_captioning} folder: {@code coco2014_captions.h5} ({@code train_captions} and
 * {@code val_captions}, {@code [N, T]} word indices; {@code train_image_idxs} and {@code val_image_idxs}, the image
 * of each caption), {@code coco2014_vocab.json}, the image features {@code train2014_vgg16_fc7.h5} or the PCA
 * variant {@code train2014_vgg16_fc7_pca.h5} (dataset {@code features}, {@code [M, D]}) and their
 * {@code val2014_...} twins, and optionally {@code train2014_urls.txt} / {@code val2014_urls.txt} (one image URL per
 * line). Every failure is a {@link DataException} naming the file.
 */
public final class CaptioningFormat {
    public static final String CAPTIONS = "coco2014_captions.h5";
    public static final String VOCAB = "coco2014_vocab.json";
    public static final List<String> FEATURES = List.of("fc7", "fc7_pca");
    /** Below this share of a feature file's images, only the rows needed are read. */
    private static final int ROW_READ_DIVISOR = 4;

    /** What the loader takes from the spec: the feature file, and caps on training captions and validation images. */
    public record Options(String features, int maxTrain, int maxValImages, long seed) {
    }

    private CaptioningFormat() {
    }

    public static boolean detect(Path folder) {
        return Files.isRegularFile(folder.resolve(CAPTIONS)) && Files.isRegularFile(folder.resolve(VOCAB));
    }

    static String featureFile(String split, String features) {
        return split + "2014_vgg16_" + features + ".h5";
    }

    /** The feature kind to read: the spec's, else the PCA variant when it is there, else fc7. */
    static String features(Path folder, String requested) {
        if (requested != null) {
            return requested;
        }
        return Files.isRegularFile(folder.resolve(featureFile("train", "fc7_pca"))) ? "fc7_pca" : "fc7";
    }

    public static CaptioningData load(Path folder, Options options) {
        Vocabulary vocab = Vocabulary.read(folder.resolve(VOCAB));
        String features = features(folder, options.features());
        CaptionSplit train;
        CaptionSplit val;
        try (Hdf5Arrays captions = new Hdf5Arrays(folder.resolve(CAPTIONS))) {
            train = split(folder, captions, "train", features, vocab, options.maxTrain(), 0, options.seed());
            val = split(folder, captions, "val", features, vocab, 0, options.maxValImages(), options.seed());
        }
        if (train.featureDim() != val.featureDim()) {
            throw new DataException("the training features of " + folder + " have " + train.featureDim()
                    + " values per image but the validation features " + val.featureDim());
        }
        if (train.length() != val.length()) {
            throw new DataException(CAPTIONS + " in " + folder + ": train_captions have " + train.length()
                    + " words each but val_captions " + val.length());
        }
        return new CaptioningData(vocab, train, val, features);
    }

    /**
     * One split: every caption (or {@code maxCaptions} of them, drawn without replacement from the seed), or the
     * captions of {@code maxImages} images drawn likewise (all captions of each, so that BLEU has its references).
     */
    private static CaptionSplit split(Path folder, Hdf5Arrays h5, String split, String features, Vocabulary vocab,
                                      int maxCaptions, int maxImages, long seed) {
        Path captionsFile = folder.resolve(CAPTIONS);
        Hdf5Arrays.IntArray caps = h5.ints(split + "_captions", 2);
        Hdf5Arrays.IntArray imgs = h5.ints(split + "_image_idxs", 1);
        int n = caps.shape()[0], length = caps.shape()[1];
        if (imgs.shape()[0] != n) {
            throw new DataException(captionsFile + ": " + split + "_image_idxs has " + imgs.shape()[0] + " entries but "
                    + split + "_captions has " + n + " captions");
        }
        if (n == 0 || length < 2) {
            throw new DataException(captionsFile + ": " + split + "_captions is " + Arrays.toString(caps.shape())
                    + "; it needs at least one caption of at least 2 words (<START> and <END>)");
        }
        for (int i = 0; i < caps.data().length; i++) {
            int w = caps.data()[i];
            if (w < 0 || w >= vocab.size()) {
                throw new DataException(captionsFile + ": " + split + "_captions[" + i / length + ", " + i % length
                        + "] is " + w + ", outside the vocabulary of " + vocab.size() + " words");
            }
        }
        int[] chosen = choose(n, imgs.data(), maxCaptions, maxImages, seed ^ split.hashCode());
        Path featFile = folder.resolve(featureFile(split, features));
        if (!Files.isRegularFile(featFile)) {
            throw new DataException("captioning data " + folder + " has no " + featFile.getFileName() + " (data.features \""
                    + features + "\"); it contains: " + Arrays.toString(folder.toFile().list()));
        }
        try (Hdf5Arrays fh = new Hdf5Arrays(featFile)) {
            int[] shape = fh.shape("features", 2);
            int images = shape[0], dim = shape[1];
            TreeSet<Integer> needed = new TreeSet<>();
            for (int c : chosen) {
                int img = imgs.data()[c];
                if (img < 0 || img >= images) {
                    throw new DataException(captionsFile + ": " + split + "_image_idxs[" + c + "] is " + img + " but "
                            + featFile.getFileName() + " holds " + images + " images");
                }
                needed.add(img);
            }
            Map<Integer, Integer> rowOf = new LinkedHashMap<>();
            float[] feats;
            if ((long) needed.size() * ROW_READ_DIVISOR < images) {
                feats = new float[needed.size() * dim];
                for (int img : needed) {
                    int row = rowOf.size();
                    rowOf.put(img, row);
                    System.arraycopy(fh.floatRows("features", img, 1).data(), 0, feats, row * dim, dim);
                }
            } else {
                feats = fh.floatRows("features", 0, -1).data();
                for (int img = 0; img < images; img++) {
                    rowOf.put(img, img);
                }
            }
            int[] words = new int[chosen.length * length];
            int[] featureRow = new int[chosen.length];
            int[] imageIndex = new int[chosen.length];
            for (int i = 0; i < chosen.length; i++) {
                System.arraycopy(caps.data(), chosen[i] * length, words, i * length, length);
                imageIndex[i] = imgs.data()[chosen[i]];
                featureRow[i] = rowOf.get(imageIndex[i]);
            }
            return new CaptionSplit(split, words, length, featureRow, imageIndex, feats, dim,
                    urls(folder.resolve(split + "2014_urls.txt")));
        }
    }

    /** The caption indices kept, in increasing order. */
    static int[] choose(int n, int[] imageOf, int maxCaptions, int maxImages, long seed) {
        if (maxCaptions > 0 && maxCaptions < n) {
            return sample(n, maxCaptions, seed);
        }
        if (maxImages > 0) {
            TreeSet<Integer> images = new TreeSet<>();
            for (int i = 0; i < n; i++) {
                images.add(imageOf[i]);
            }
            if (maxImages < images.size()) {
                Integer[] all = images.toArray(new Integer[0]);
                TreeSet<Integer> keep = new TreeSet<>();
                for (int i : sample(all.length, maxImages, seed)) {
                    keep.add(all[i]);
                }
                List<Integer> out = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    if (keep.contains(imageOf[i])) {
                        out.add(i);
                    }
                }
                return out.stream().mapToInt(Integer::intValue).toArray();
            }
        }
        int[] all = new int[n];
        Arrays.setAll(all, i -> i);
        return all;
    }

    /** k of [0, n) without replacement (a partial Fisher-Yates shuffle), sorted. */
    private static int[] sample(int n, int k, long seed) {
        int[] p = new int[n];
        Arrays.setAll(p, i -> i);
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < k; i++) {
            int j = i + r.nextInt(n - i);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        int[] out = Arrays.copyOf(p, k);
        Arrays.sort(out);
        return out;
    }

    private static List<String> urls(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8).stream().map(String::strip).toList();
        } catch (IOException e) {
            throw new DataException("cannot read " + file + ": " + e, e);
        }
    }
}
