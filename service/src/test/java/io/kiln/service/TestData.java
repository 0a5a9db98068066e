package io.kiln.service;

import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.zip.GZIPOutputStream;

/**
 * Small learnable IDX datasets for service tests: each class lights up its own row of an 8x8 image on top of
 * noise, so a small MLP reaches high accuracy in a couple of epochs of a second or so.
 */
public final class TestData {
    private TestData() {
    }

    public static Path write(Path dataRoot, String name, int train, int test, int classes) throws IOException {
        Path dir = dataRoot.resolve(name);
        Files.createDirectories(dir);
        SplittableRandom rng = new SplittableRandom(name.hashCode());
        write(dir, "train", train, classes, rng);
        write(dir, "t10k", test, classes, rng);
        return dir;
    }

    private static void write(Path dir, String prefix, int n, int classes, SplittableRandom rng) throws IOException {
        int side = 8;
        byte[] pixels = new byte[n * side * side];
        byte[] labels = new byte[n];
        for (int i = 0; i < n; i++) {
            int label = rng.nextInt(classes);
            labels[i] = (byte) label;
            int row = label * side / classes;
            for (int p = 0; p < side * side; p++) {
                pixels[i * side * side + p] = (byte) (rng.nextInt(90) + (p / side == row ? 150 : 0));
            }
        }
        try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(Files.newOutputStream(dir.resolve(prefix + "-images-idx3-ubyte.gz"))))) {
            out.writeInt(0x00000803);
            out.writeInt(n);
            out.writeInt(side);
            out.writeInt(side);
            out.write(pixels);
        }
        try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(Files.newOutputStream(dir.resolve(prefix + "-labels-idx1-ubyte.gz"))))) {
            out.writeInt(0x00000801);
            out.writeInt(n);
            out.write(labels);
        }
    }

    /** A job spec for the tiny data: an MLP trained for {@code epochs} epochs. */
    public static String spec(String name, String data, int epochs) {
        return """
                {"name":"%s","data":{"name":"%s","validationSplit":0.2},
                 "model":{"layers":[{"type":"flatten"},{"type":"dense","units":16},{"type":"relu"},{"type":"dense","units":4}]},
                 "optimizer":{"type":"sgd","lr":0.05,"momentum":0.9},"training":{"epochs":%d,"batchSize":32,"seed":1},
                 "device":"cpu"}""".formatted(name, data, epochs);
    }
}
