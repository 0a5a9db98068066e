package io.kiln.engine.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * Image folders: {@code train/<class>/*.png|jpg|jpeg} and {@code test/<class>/...}. Classes are the folders
 * under {@code train/}, sorted by name; every test class must also be a training class. All images must have
 * the same size. Greyscale images (a grey colour model, or a palette of greys) give one channel; if any image,
 * training or test, is in colour, every image is read as three (RGB) channels. Alpha is ignored.
 */
final class ImageFolderFormat {
    static final String TRAIN = "train";
    static final String TEST = "test";

    private ImageFolderFormat() {
    }

    static boolean detect(Path folder) {
        return Files.isDirectory(folder.resolve(TRAIN));
    }

    private record Entry(Path file, int label) {
    }

    /** A decoded image: {@code channels} planes of {@code width*height} bytes, or an error message. */
    record Decoded(byte[] pixels, int channels, int width, int height, String error) {
    }

    /** The class names and the training and test images of a folder, checked. */
    private record Listing(List<String> classes, List<Entry> train, List<Entry> test) {
    }

    private static Listing list(Path folder) {
        Path trainDir = folder.resolve(TRAIN);
        Path testDir = folder.resolve(TEST);
        List<Path> classDirs = subfolders(trainDir);
        if (classDirs.isEmpty()) {
            throw new DataException("image-folder dataset " + folder + ": " + trainDir
                    + " has no class folders (expected train/<class>/*.png|jpg|jpeg); it contains: "
                    + DataFiles.describeContents(trainDir, 30));
        }
        if (!Files.isDirectory(testDir)) {
            throw new DataException("image-folder dataset " + folder + " has no test/ folder (expected "
                    + "test/<class>/*.png|jpg|jpeg beside train/); it contains: "
                    + DataFiles.describeContents(folder, 30));
        }
        List<String> classes = new ArrayList<>();
        List<Entry> train = new ArrayList<>();
        for (Path dir : classDirs) {
            List<Path> images = images(dir);
            if (images.isEmpty()) {
                throw new DataException("class folder " + dir + " has no .png, .jpg or .jpeg images");
            }
            int label = classes.size();
            classes.add(dir.getFileName().toString());
            images.forEach(p -> train.add(new Entry(p, label)));
        }
        List<Entry> test = new ArrayList<>();
        for (Path dir : subfolders(testDir)) {
            String name = dir.getFileName().toString();
            int label = classes.indexOf(name);
            if (label < 0) {
                throw new DataException("test class folder " + dir + " has no counterpart in " + trainDir
                        + " (training classes: " + String.join(", ", classes) + ")");
            }
            images(dir).forEach(p -> test.add(new Entry(p, label)));
        }
        if (test.isEmpty()) {
            throw new DataException("image-folder dataset " + folder + ": " + testDir
                    + " has no images (expected test/<class>/*.png|jpg|jpeg)");
        }
        return new Listing(classes, train, test);
    }

    /**
     * The images at their own size, which must be the same for all; with {@code resize} ([height, width], or
     * null), each is resized to it as it is read, so that their sizes may differ.
     */
    static LoadedData load(Path folder, int[] resize) {
        Listing listing = list(folder);
        List<String> classes = listing.classes();
        List<Entry> train = listing.train();
        List<Entry> test = listing.test();
        List<Entry> all = new ArrayList<>(train);
        all.addAll(test);
        Decoded[] decoded = new Decoded[all.size()];
        IntStream.range(0, decoded.length).parallel().forEach(i -> decoded[i] = decode(all.get(i).file()));
        int width = -1;
        int height = -1;
        Path first = null;
        int channels = 1;
        for (int i = 0; i < decoded.length; i++) {
            Decoded d = decoded[i];
            Path file = all.get(i).file();
            if (d.error() != null) {
                throw new DataException(d.error());
            }
            if (resize != null) {
                width = resize[1];
                height = resize[0];
            } else if (first == null) {
                first = file;
                width = d.width();
                height = d.height();
            } else if (d.width() != width || d.height() != height) {
                throw new DataException("image " + file + " is " + d.width() + "x" + d.height() + " but " + first
                        + " is " + width + "x" + height + "; all images of a dataset must have the same size, unless data.resize "
                        + "([height, width]) or data.transform (e.g. {\"resize\": 256, \"centerCrop\": 224}) sizes them");
            }
            channels = Math.max(channels, d.channels());
        }
        int[] shape = {channels, height, width};
        Dataset trainSet = assemble(decoded, 0, train, shape, classes);
        Dataset testSet = assemble(decoded, train.size(), test, shape, classes);
        return new LoadedData(trainSet, testSet, DatasetLoader.FORMAT_IMAGE_FOLDERS);
    }

    /**
     * Image folders whose images may differ in size, through an ImageNet-style transform: every image is read as
     * RGB (grey ones repeated, as torchvision's {@code ImageFolder} does) and stored as its evaluation crop; when
     * the transform crops training images at random, the training images are also kept as decoded.
     */
    static LoadedData load(Path folder, ImageTransform transform) {
        Listing listing = list(folder);
        int side = transform.side();
        int[] shape = {3, side, side};
        Dataset trainSet = transformed(listing.train(), shape, listing.classes(), transform, transform.randomCrop());
        Dataset testSet = transformed(listing.test(), shape, listing.classes(), transform, false);
        return new LoadedData(trainSet, testSet, DatasetLoader.FORMAT_IMAGE_FOLDERS);
    }

    private static Dataset transformed(List<Entry> entries, int[] shape, List<String> classes, ImageTransform transform,
                                       boolean keepSources) {
        int sampleSize = shape[0] * shape[1] * shape[2];
        byte[] pixels = Dataset.allocatePixels(entries.size(), shape, "data.transform.centerCrop");
        int[] labels = new int[entries.size()];
        SourceImage[] sources = keepSources ? new SourceImage[entries.size()] : null;
        String[] errors = new String[entries.size()];
        IntStream.range(0, entries.size()).parallel().forEach(i -> {
            Decoded d = decode(entries.get(i).file());
            if (d.error() != null) {
                errors[i] = d.error();
                return;
            }
            SourceImage img = new SourceImage(rgb(d), 3, d.width(), d.height());
            transform.evaluate(img, pixels, i * sampleSize);
            if (sources != null) {
                sources[i] = img;
            }
        });
        for (int i = 0; i < entries.size(); i++) {
            if (errors[i] != null) {
                throw new DataException(errors[i]);
            }
            labels[i] = entries.get(i).label();
        }
        return Dataset.of(pixels, labels, shape, classes, sources);
    }

    private static byte[] rgb(Decoded d) {
        if (d.channels() == 3) {
            return d.pixels();
        }
        int plane = d.width() * d.height();
        byte[] out = new byte[3 * plane];
        for (int c = 0; c < 3; c++) {
            System.arraycopy(d.pixels(), 0, out, c * plane, plane);
        }
        return out;
    }

    private static Dataset assemble(Decoded[] decoded, int from, List<Entry> entries, int[] shape,
                                    List<String> classes) {
        int sampleSize = shape[0] * shape[1] * shape[2];
        int plane = shape[1] * shape[2];
        long bytes = (long) entries.size() * sampleSize;
        if (bytes > Integer.MAX_VALUE - 16) {
            throw new DataException("image-folder dataset of " + entries.size() + " images of "
                    + shape[0] + "x" + shape[1] + "x" + shape[2] + " is too large to load (" + bytes + " bytes)");
        }
        byte[] pixels = new byte[(int) bytes];
        int[] labels = new int[entries.size()];
        for (int i = 0; i < entries.size(); i++) {
            Decoded d = sized(decoded[from + i], shape);
            decoded[from + i] = null;
            labels[i] = entries.get(i).label();
            int at = i * sampleSize;
            if (d.channels() == shape[0]) {
                System.arraycopy(d.pixels(), 0, pixels, at, sampleSize);
            } else {
                for (int c = 0; c < shape[0]; c++) {
                    System.arraycopy(d.pixels(), 0, pixels, at + c * plane, plane);
                }
            }
        }
        return Dataset.of(pixels, labels, shape, classes);
    }

    /** The image at the dataset's height and width (through {@link Resampler} when it differs). */
    private static Decoded sized(Decoded d, int[] shape) {
        if (d.width() == shape[2] && d.height() == shape[1]) {
            return d;
        }
        byte[] px = new byte[d.channels() * shape[1] * shape[2]];
        Resampler.resample(d.pixels(), d.channels(), d.width(), d.height(), 0, 0, d.width(), d.height(), shape[2],
                shape[1], false, px, 0);
        return new Decoded(px, d.channels(), shape[2], shape[1], null);
    }

    private static Decoded decode(Path file) {
        BufferedImage img;
        try {
            img = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            return failed("cannot read image " + file + ": it is corrupt or not a PNG/JPEG image (" + e.getMessage()
                    + ")");
        }
        if (img == null) {
            return failed("cannot read image " + file + ": it is not a PNG or JPEG image");
        }
        return decode(img);
    }

    /** Pixel bytes of an image in channel planes: 1 channel for grey images, 3 (RGB) otherwise. */
    static Decoded decode(BufferedImage img) {
        int w = img.getWidth();
        int h = img.getHeight();
        int plane = w * h;
        ColorModel cm = img.getColorModel();
        if (cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY && !(cm instanceof IndexColorModel)) {
            // read the stored grey levels directly: getRGB would convert them from linear grey to sRGB
            Raster raster = img.getRaster();
            int[] samples = raster.getSamples(0, 0, w, h, 0, (int[]) null);
            int bits = cm.getComponentSize(0);
            byte[] px = new byte[plane];
            if (bits == 8) {
                for (int p = 0; p < plane; p++) {
                    px[p] = (byte) samples[p];
                }
            } else {
                double max = (1L << bits) - 1;
                for (int p = 0; p < plane; p++) {
                    px[p] = (byte) Math.round(samples[p] * 255.0 / max);
                }
            }
            return new Decoded(px, 1, w, h, null);
        }
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        if (cm instanceof IndexColorModel icm && greyPalette(icm)) {
            byte[] px = new byte[plane];
            for (int p = 0; p < plane; p++) {
                px[p] = (byte) (argb[p] >> 16);
            }
            return new Decoded(px, 1, w, h, null);
        }
        byte[] px = new byte[3 * plane];
        for (int p = 0; p < plane; p++) {
            int v = argb[p];
            px[p] = (byte) (v >> 16);
            px[plane + p] = (byte) (v >> 8);
            px[2 * plane + p] = (byte) v;
        }
        return new Decoded(px, 3, w, h, null);
    }

    private static Decoded failed(String message) {
        return new Decoded(null, 0, 0, 0, message);
    }

    private static boolean greyPalette(IndexColorModel icm) {
        for (int k = 0; k < icm.getMapSize(); k++) {
            int r = icm.getRed(k);
            if (icm.getGreen(k) != r || icm.getBlue(k) != r) {
                return false;
            }
        }
        return true;
    }

    /** Sub-folders, sorted by name, skipping hidden ones. */
    private static List<Path> subfolders(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().startsWith("."))
                    .sorted((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString())).toList();
        } catch (IOException e) {
            throw DataFiles.cannotRead(dir, e);
        }
    }

    /** The .png/.jpg/.jpeg files of a folder (any case), sorted by name; other files are ignored. */
    private static List<Path> images(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).filter(p -> isImage(p.getFileName().toString()))
                    .sorted((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString())).toList();
        } catch (IOException e) {
            throw DataFiles.cannotRead(dir, e);
        }
    }

    static boolean isImage(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return !n.startsWith(".") && (n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg"));
    }
}
