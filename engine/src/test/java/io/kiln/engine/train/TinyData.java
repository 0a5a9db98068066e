package io.kiln.engine.train;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.zip.GZIPOutputStream;

/**
 * Writes a small, learnable IDX dataset for tests: each class lights up its own row of the image, on top of
 * noise, so a linear model or small MLP separates the classes within a few epochs.
 */
public final class TinyData {
    private TinyData() {
    }

    public static Path write(Path dataRoot, String name, int train, int test, int classes, int side, long seed)
            throws IOException {
        Path dir = dataRoot.resolve(name);
        Files.createDirectories(dir);
        SplittableRandom rng = new SplittableRandom(seed);
        write(dir, "train", train, classes, side, rng);
        write(dir, "t10k", test, classes, side, rng);
        return dir;
    }

    private static void write(Path dir, String prefix, int n, int classes, int side, SplittableRandom rng) throws IOException {
        byte[] pixels = new byte[n * side * side];
        byte[] labels = new byte[n];
        for (int i = 0; i < n; i++) {
            int label = rng.nextInt(classes);
            labels[i] = (byte) label;
            int row = label * side / classes;
            for (int p = 0; p < side * side; p++) {
                int v = rng.nextInt(90);
                if (p / side == row) {
                    v += 150;
                }
                pixels[i * side * side + p] = (byte) v;
            }
        }
        try (DataOutputStream out = new DataOutputStream(gzip(dir.resolve(prefix + "-images-idx3-ubyte.gz")))) {
            out.writeInt(0x00000803);
            out.writeInt(n);
            out.writeInt(side);
            out.writeInt(side);
            out.write(pixels);
        }
        try (DataOutputStream out = new DataOutputStream(gzip(dir.resolve(prefix + "-labels-idx1-ubyte.gz")))) {
            out.writeInt(0x00000801);
            out.writeInt(n);
            out.write(labels);
        }
    }

    private static OutputStream gzip(Path file) throws IOException {
        return new GZIPOutputStream(Files.newOutputStream(file));
    }
}
