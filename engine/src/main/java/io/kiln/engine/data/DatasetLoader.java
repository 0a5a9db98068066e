package io.kiln.engine.data;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Finds a dataset folder under the data root and reads it, detecting its format from the files it holds, in
 * this order: IDX ({@code train-images-idx3-ubyte[.gz]} ...), CIFAR-10 binary ({@code data_batch_1.bin} ...,
 * possibly inside {@code cifar-10-batches-bin/}), image folders ({@code train/<class>/*.png|jpg|jpeg}); a captioning
 * folder ({@code coco2014_captions.h5}) is recognised first and read by its own loader. Every
 * failure is a {@link DataException} naming the folder or file and what is wrong.
 */
public final class DatasetLoader {
    public static final String FORMAT_IDX = "idx";
    public static final String FORMAT_CIFAR10 = "cifar10-binary";
    public static final String FORMAT_IMAGE_FOLDERS = "image-folders";
    /** CS231n's coco_captioning folder, read by {@link io.kiln.engine.data.captions.CaptioningFormat}. */
    public static final String FORMAT_CAPTIONING = "captioning";

    /** What each format expects, for the message when none is recognised. */
    static final String EXPECTED_FORMATS = "IDX (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
            + "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz), CIFAR-10 binary "
            + "(data_batch_1.bin ... data_batch_5.bin and test_batch.bin, optionally inside cifar-10-batches-bin/), "
            + "image folders (train/<class>/*.png|jpg|jpeg and test/<class>/...), or captioning ("
            + io.kiln.engine.data.captions.CaptioningFormat.CAPTIONS + ", " + io.kiln.engine.data.captions.CaptioningFormat.VOCAB
            + ", train2014_vgg16_fc7[_pca].h5 and val2014_vgg16_fc7[_pca].h5)";

    private DatasetLoader() {
    }

    /**
     * Reads dataset {@code name}, the folder {@code dataRoot/name}.
     *
     * @throws DataException when the name is not a plain folder name under the root, the folder is missing (the
     *                       message lists what the root holds), no format is recognised, or a file is bad
     */
    public static LoadedData load(Path dataRoot, String name) {
        return load(resolve(dataRoot, name));
    }

    /**
     * Reads dataset {@code name} through an ImageNet-style transform (null for none), which only image folders
     * take; their images may then differ in size.
     */
    public static LoadedData load(Path dataRoot, String name, ImageTransform transform) {
        if (transform == null) {
            return load(dataRoot, name);
        }
        Path folder = resolve(dataRoot, name);
        String format = detect(folder);
        if (!FORMAT_IMAGE_FOLDERS.equals(format)) {
            throw new DataException("data.transform: crops and resizes image folders (train/<class>/*.jpg ...), but "
                    + folder + " is " + (format == null ? "not a recognisable dataset" : "in the " + format + " format"));
        }
        return checked(folder, ImageFolderFormat.load(folder, transform));
    }

    /**
     * Reads dataset {@code name} through an ImageNet-style transform or through {@code data.resize} and
     * {@code data.pad} (either may be null; not both given). Image folders whose images differ in size load when
     * either resizes them.
     */
    public static LoadedData load(Path dataRoot, String name, ImageTransform transform, ResizePad resizePad) {
        if (resizePad == null) {
            return load(dataRoot, name, transform);
        }
        if (transform != null) {
            throw new IllegalArgumentException("data.transform cannot be combined with data.resize or data.pad");
        }
        Path folder = resolve(dataRoot, name);
        LoadedData data = load(folder, resizePad.resize());
        return new LoadedData(resizePad.apply(data.train()), resizePad.apply(data.test()), data.format());
    }

    /** The folder of dataset {@code name} under {@code dataRoot}, which must exist. */
    public static Path resolve(Path dataRoot, String name) {
        if (name == null || name.isBlank()) {
            throw new DataException("dataset name is empty");
        }
        Path rel;
        try {
            rel = Path.of(name).normalize();
        } catch (InvalidPathException e) {
            throw new DataException("dataset name \"" + name + "\" is not a valid folder name: " + e.getMessage(), e);
        }
        if (rel.isAbsolute() || rel.startsWith("..") || rel.toString().isEmpty()) {
            throw new DataException("dataset name \"" + name + "\" must be a folder under the data root " + dataRoot);
        }
        if (!Files.isDirectory(dataRoot)) {
            throw new DataException("dataset \"" + name + "\" not found: the data root " + dataRoot
                    + (Files.exists(dataRoot) ? " is not a folder" : " does not exist"));
        }
        Path folder = dataRoot.resolve(rel);
        if (!Files.isDirectory(folder)) {
            throw new DataException("dataset \"" + name + "\" not found: there is no folder " + folder
                    + "; the data root " + dataRoot + " contains: " + DataFiles.describeContents(dataRoot, 50));
        }
        return folder;
    }

    /** Reads the dataset in {@code folder}, detecting its format. */
    public static LoadedData load(Path folder) {
        return load(folder, (int[]) null);
    }

    /**
     * Reads the dataset in {@code folder}; with {@code resize} ([height, width]), image folders may hold images of
     * several sizes, each read at that size (other formats are resized after reading, by {@link ResizePad}).
     */
    private static LoadedData load(Path folder, int[] resize) {
        if (!Files.isDirectory(folder)) {
            throw new DataException("dataset folder " + folder + (Files.exists(folder) ? " is not a folder"
                    : " does not exist"));
        }
        LoadedData data;
        String format = detect(folder);
        if (format == null) {
            throw new DataException("no recognisable dataset format in " + folder + ", which contains: "
                    + DataFiles.describeContents(folder, 30) + "; expected " + EXPECTED_FORMATS);
        }
        switch (format) {
            case FORMAT_CAPTIONING -> throw new DataException("dataset " + folder + " is a captioning data set ("
                    + io.kiln.engine.data.captions.CaptioningFormat.CAPTIONS + "): it trains with \"model\": {\"preset\": "
                    + "\"captioning\"} and \"loss\": \"temporal_softmax\"");
            case FORMAT_IDX -> data = IdxFormat.load(folder);
            case FORMAT_CIFAR10 -> data = CifarFormat.load(folder);
            default -> data = ImageFolderFormat.load(folder, resize);
        }
        return checked(folder, data);
    }

    private static LoadedData checked(Path folder, LoadedData data) {
        if (data.train().size() == 0) {
            throw new DataException("dataset " + folder + " has no training samples");
        }
        if (data.test().size() == 0) {
            throw new DataException("dataset " + folder + " has no test samples");
        }
        return data;
    }

    /** The format of the dataset in {@code folder}, or null when its files match none. */
    public static String detect(Path folder) {
        if (io.kiln.engine.data.captions.CaptioningFormat.detect(folder)) {
            return FORMAT_CAPTIONING;
        }
        if (IdxFormat.detect(folder)) {
            return FORMAT_IDX;
        }
        if (CifarFormat.batchFolder(folder) != null) {
            return FORMAT_CIFAR10;
        }
        if (ImageFolderFormat.detect(folder)) {
            return FORMAT_IMAGE_FOLDERS;
        }
        return null;
    }
}
