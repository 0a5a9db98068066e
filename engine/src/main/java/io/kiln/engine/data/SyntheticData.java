package io.kiln.engine.data;

import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.zip.GZIPOutputStream;

/**
 * Writes a small, learnable dataset in the IDX format (gzip), for tests and demonstrations: each class lights
 * up its own band of rows of the image on top of noise, so a linear model or a small MLP separates the
 * classes within a few epochs.
 */
public final class SyntheticData {
    private SyntheticData() {
    }

    /** Writes {@code dataRoot/name/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz} and returns the folder. */
    public static Path writeIdx(Path dataRoot, String name, int train, int test, int classes, int side, long seed)
            throws IOException {
        if (classes < 2 || classes > side || classes > 255) {
            throw new IllegalArgumentException("classes must be between 2 and the image side (" + side + ")");
        }
        Path dir = dataRoot.resolve(name);
        Files.createDirectories(dir);
        SplittableRandom rng = new SplittableRandom(seed);
        write(dir, "train", train, classes, side, rng);
        write(dir, "t10k", test, classes, side, rng);
        return dir;
    }

    /** The row lit for a class (what a test image of that class shows). */
    public static int row(int label, int classes, int side) {
        return label * side / classes;
    }

    private static void write(Path dir, String prefix, int n, int classes, int side, SplittableRandom rng) throws IOException {
        byte[] pixels = new byte[n * side * side];
        byte[] labels = new byte[n];
        for (int i = 0; i < n; i++) {
            int label = rng.nextInt(classes);
            labels[i] = (byte) label;
            int row = row(label, classes, side);
            for (int p = 0; p < side * side; p++) {
                pixels[i * side * side + p] = (byte) (rng.nextInt(90) + (p / side == row ? 150 : 0));
            }
        }
        try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(
                Files.newOutputStream(dir.resolve(prefix + "-images-idx3-ubyte.gz"))))) {
            out.writeInt(0x00000803);
            out.writeInt(n);
            out.writeInt(side);
            out.writeInt(side);
            out.write(pixels);
        }
        try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(
                Files.newOutputStream(dir.resolve(prefix + "-labels-idx1-ubyte.gz"))))) {
            out.writeInt(0x00000801);
            out.writeInt(n);
            out.write(labels);
        }
    }
}
