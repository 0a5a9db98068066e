package io.kiln.engine.data;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;

/** Writes small datasets of each format for the tests, and finds the shared test data. */
final class DataFixtures {
    private DataFixtures() {
    }

    /** The repository root: the {@code kiln.repo.root} property, else the nearest folder up whose pom lists engine. */
    static Path repoRoot() {
        String prop = System.getProperty("kiln.repo.root");
        if (prop != null && !prop.isBlank()) {
            return Path.of(prop).toAbsolutePath().normalize();
        }
        Path dir = Path.of("").toAbsolutePath();
        for (Path p = dir; p != null; p = p.getParent()) {
            Path pom = p.resolve("pom.xml");
            try {
                if (Files.isRegularFile(pom) && Files.readString(pom).contains("<module>engine</module>")) {
                    return p;
                }
            } catch (IOException e) {
                // keep looking further up
            }
        }
        return dir;
    }

    /** {@code <repo root>/../shared/data}, which may be missing. */
    static Path sharedData() {
        return repoRoot().resolve("..").resolve("shared").resolve("data").normalize();
    }

    /** IDX image file bytes: magic, count, rows, cols, then the pixels. */
    static byte[] idxImages(int magic, int count, int rows, int cols, byte[] pixels) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writeInt(out, magic);
        writeInt(out, count);
        writeInt(out, rows);
        writeInt(out, cols);
        out.writeBytes(pixels);
        return out.toByteArray();
    }

    /** IDX label file bytes: magic, count, then the labels. */
    static byte[] idxLabels(int magic, int count, int[] labels) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        writeInt(out, magic);
        writeInt(out, count);
        for (int y : labels) {
            out.write(y);
        }
        return out.toByteArray();
    }

    static void writeInt(ByteArrayOutputStream out, int v) {
        out.write(v >>> 24);
        out.write(v >>> 16);
        out.write(v >>> 8);
        out.write(v);
    }

    static byte[] gzip(byte[] data) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream gz = new GZIPOutputStream(bytes)) {
            gz.write(data);
        }
        return bytes.toByteArray();
    }

    /** Pixel i of an image set: a simple pattern that differs from sample to sample. */
    static byte[] pattern(int count, int sampleSize, int salt) {
        byte[] px = new byte[count * sampleSize];
        for (int i = 0; i < px.length; i++) {
            px[i] = (byte) (i * 7 + salt);
        }
        return px;
    }

    /** Writes an IDX dataset (train and t10k) into {@code dir}, gzip-compressed or raw. */
    static void writeIdx(Path dir, int rows, int cols, byte[] trainPx, int[] trainY, byte[] testPx, int[] testY,
                         boolean gzip) throws IOException {
        Files.createDirectories(dir);
        String ext = gzip ? ".gz" : "";
        write(dir.resolve("train-images-idx3-ubyte" + ext),
                idxImages(0x803, trainY.length, rows, cols, trainPx), gzip);
        write(dir.resolve("train-labels-idx1-ubyte" + ext), idxLabels(0x801, trainY.length, trainY), gzip);
        write(dir.resolve("t10k-images-idx3-ubyte" + ext), idxImages(0x803, testY.length, rows, cols, testPx), gzip);
        write(dir.resolve("t10k-labels-idx1-ubyte" + ext), idxLabels(0x801, testY.length, testY), gzip);
    }

    static void write(Path file, byte[] data, boolean gzip) throws IOException {
        Files.write(file, gzip ? gzip(data) : data);
    }

    /** CIFAR-10 records: label byte then 3072 pixels, pixel values from {@link #pattern}. */
    static byte[] cifarBatch(int[] labels, int salt) {
        byte[] px = pattern(labels.length, 3072, salt);
        byte[] out = new byte[labels.length * 3073];
        for (int i = 0; i < labels.length; i++) {
            out[i * 3073] = (byte) labels[i];
            System.arraycopy(px, i * 3072, out, i * 3073 + 1, 3072);
        }
        return out;
    }

    /** Writes {@link #cifarBatch} of {@code labels} as {@code dir/name}, creating {@code dir} if need be. */
    static void writeCifarBatch(Path dir, String name, int[] labels, int salt) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve(name), cifarBatch(labels, salt));
    }

    static BufferedImage grey(int w, int h, int base) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.getRaster().setSample(x, y, 0, (base + 10 * y + x) & 0xFF);
            }
        }
        return img;
    }

    static BufferedImage rgb(int w, int h, int r, int g, int b) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                img.setRGB(x, y, ((r + x) & 0xFF) << 16 | ((g + y) & 0xFF) << 8 | (b & 0xFF));
            }
        }
        return img;
    }

    static void writeImage(Path file, BufferedImage img, String format) throws IOException {
        Files.createDirectories(file.getParent());
        if (!ImageIO.write(img, format, file.toFile())) {
            throw new IOException("no ImageIO writer for " + format);
        }
    }

    /** Asserts that loading {@code dir} fails with a {@link DataException} whose message contains every fragment. */
    static void assertLoadFails(Path dir, String... fragments) {
        DataException e = assertThrows(DataException.class, () -> DatasetLoader.load(dir));
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), e.getMessage());
        }
    }

    /** A small dataset built in memory, [channels, h, w], labels i % classes. */
    static Dataset synthetic(int n, int channels, int h, int w, int classes) {
        byte[] px = pattern(n, channels * h * w, 3);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % classes;
        }
        List<String> names = new java.util.ArrayList<>();
        for (int k = 0; k < classes; k++) {
            names.add("c" + k);
        }
        return Dataset.of(px, labels, new int[] {channels, h, w}, names);
    }
}
