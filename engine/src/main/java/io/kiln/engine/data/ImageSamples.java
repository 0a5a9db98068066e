package io.kiln.engine.data;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.List;
import javax.imageio.ImageIO;

/**
 * Turns images a user uploads (PNG or JPEG bytes) into samples of a model's input shape: resized to its height
 * and width when they differ (bilinear, {@link Resampler}), and converted to its number of channels (grey to RGB by repetition, RGB to grey
 * by luminance).
 */
public final class ImageSamples {
    private ImageSamples() {
    }

    /**
     * A dataset of the images, each labelled 0, normalised by {@link Normalization#scale()} until the caller
     * sets another.
     *
     * @param names one name per image for error messages (e.g. the uploaded file names)
     * @throws DataException naming the image that cannot be decoded
     */
    public static Dataset of(List<byte[]> encoded, List<String> names, int[] shape, List<String> classNames) {
        return of(encoded, names, shape, classNames, null);
    }

    /**
     * As {@link #of(List, List, int[], List)}, but with an ImageNet-style transform (null for none) the images are
     * read as RGB, resized and centre-cropped as the model's evaluation data were, rather than stretched.
     */
    public static Dataset of(List<byte[]> encoded, List<String> names, int[] shape, List<String> classNames,
                             ImageTransform transform) {
        int c = shape[0];
        int h = shape[1];
        int w = shape[2];
        int size = c * h * w;
        byte[] pixels = new byte[encoded.size() * size];
        for (int i = 0; i < encoded.size(); i++) {
            BufferedImage img;
            try {
                img = ImageIO.read(new ByteArrayInputStream(encoded.get(i)));
            } catch (IOException | RuntimeException e) {
                throw new DataException("cannot read image " + names.get(i) + ": " + e.getMessage());
            }
            if (img == null) {
                throw new DataException("cannot read image " + names.get(i) + ": it is not a PNG or JPEG image");
            }
            if (transform != null) {
                if (c != 3 || h != transform.side() || w != transform.side()) {
                    throw new IllegalArgumentException("the transform makes 3x" + transform.side() + "x"
                            + transform.side() + " samples, not " + java.util.Arrays.toString(shape));
                }
                ImageFolderFormat.Decoded d = ImageFolderFormat.decode(img);
                transform.evaluate(new SourceImage(toChannels(d.pixels(), d.channels(), 3, d.width() * d.height()), 3,
                        d.width(), d.height()), pixels, i * size);
                continue;
            }
            ImageFolderFormat.Decoded d = ImageFolderFormat.decode(img);
            byte[] px = toChannels(d.pixels(), d.channels(), c, d.width() * d.height());
            if (d.width() != w || d.height() != h) {
                // the filter that data.resize and data.transform use, so that predictions see what training saw
                Resampler.resample(px, c, d.width(), d.height(), 0, 0, d.width(), d.height(), w, h, false, pixels, i * size);
            } else {
                System.arraycopy(px, 0, pixels, i * size, size);
            }
        }
        int[] labels = new int[encoded.size()];
        return Dataset.of(pixels, labels, shape, classNames);
    }

    private static byte[] toChannels(byte[] px, int from, int to, int plane) {
        if (from == to) {
            return px;
        }
        byte[] out = new byte[to * plane];
        if (from == 1) {
            for (int c = 0; c < to; c++) {
                System.arraycopy(px, 0, out, c * plane, plane);
            }
        } else if (to == 1) {
            for (int p = 0; p < plane; p++) {
                double y = 0.299 * (px[p] & 0xFF) + 0.587 * (px[plane + p] & 0xFF) + 0.114 * (px[2 * plane + p] & 0xFF);
                out[p] = (byte) Math.round(y);
            }
        } else {
            throw new DataException("cannot turn " + from + "-channel images into " + to + "-channel samples");
        }
        return out;
    }
}
