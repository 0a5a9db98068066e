package io.kiln.service.jobs;

import io.kiln.service.config.KilnLimits;
import io.kiln.service.errors.BadInput;
import io.kiln.service.errors.TooLarge;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Checks an image a user uploads before it is decoded: its file size, and its width and height read from its
 * header (a 1.5 MB PNG may declare 40000x40000 pixels, 6 GB once decoded). Only PNG and JPEG are taken.
 */
final class ImageHeaders {
    static {
        // In memory, not through temporary files on disk, and without a cache folder shared by concurrent requests.
        ImageIO.setUseCache(false);
    }

    private ImageHeaders() {
    }

    /** @throws BadInput naming {@code images} for an image that is not PNG or JPEG or has too many pixels */
    static void check(String name, long size, byte[] bytes, KilnLimits limits) {
        if (size > limits.predictMaxImageBytes()) {
            throw new TooLarge("images", name + " is " + size + " bytes, more than " + limits.predictMaxImageBytes()
                    + " (kiln.predict-max-image-bytes)");
        }
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw new BadInput("images", name + " is not a PNG or JPEG image");
            }
            ImageReader reader = readers.next();
            try {
                String format = reader.getFormatName().toLowerCase(Locale.ROOT);
                if (!format.equals("png") && !format.equals("jpeg")) {
                    throw new BadInput("images", name + " is a " + format + " image; only PNG and JPEG are taken");
                }
                reader.setInput(in, true, true);
                long w = reader.getWidth(0);
                long h = reader.getHeight(0);
                if (w * h > limits.predictMaxPixels()) {
                    throw new BadInput("images", String.format(Locale.ROOT, "%s is %dx%d = %,d pixels, more than %,d "
                            + "(kiln.predict-max-pixels); send a smaller image", name, w, h, w * h, limits.predictMaxPixels()));
                }
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof BadInput || e instanceof TooLarge) {
                throw (RuntimeException) e;
            }
            throw new BadInput("images", "cannot read the header of " + name + ": " + e.getMessage());
        }
    }
}
