package io.kiln.engine.data;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * {@code data.resize} and {@code data.pad}: every image of a dataset resized to {@code height x width} (with the
 * same bilinear filter as {@code data.transform}, {@link Resampler}), then given {@code pad} pixels of zeros on
 * each side, so that a model drawn for 32x32 images (vgg11) takes 28x28 ones. Applied to the stored bytes, before
 * normalisation, to the training and test sets alike and to images sent for prediction.
 *
 * @param resize {@code [height, width]}, or null to keep the images' size
 * @param pad    pixels added on each side (0 for none)
 */
public record ResizePad(int[] resize, int pad) {

    public ResizePad {
        if (resize != null && (resize.length != 2 || resize[0] <= 0 || resize[1] <= 0)) {
            throw new IllegalArgumentException("resize must be [height, width], got " + Arrays.toString(resize));
        }
        if (pad < 0) {
            throw new IllegalArgumentException("pad must be >= 0, got " + pad);
        }
        resize = resize == null ? null : resize.clone();
    }

    /** The spec's {@code data.resize} and {@code data.pad}, or null when it has neither. */
    public static ResizePad of(int[] resize, int pad) {
        return resize == null && pad == 0 ? null : new ResizePad(resize, pad);
    }

    /** The sample shape {@code [C, H, W]} that images of {@code shape} have after this. */
    public int[] outputShape(int[] shape) {
        if (shape.length != 3) {
            throw new IllegalArgumentException("images are [C, H, W], not " + Arrays.toString(shape));
        }
        int h = resize == null ? shape[1] : resize[0];
        int w = resize == null ? shape[2] : resize[1];
        return new int[] {shape[0], h + 2 * pad, w + 2 * pad};
    }

    /** The size images have before the padding, for a model that takes {@code modelShape} after it. */
    public int[] unpadded(int[] modelShape) {
        return new int[] {modelShape[0], modelShape[1] - 2 * pad, modelShape[2] - 2 * pad};
    }

    /** The padding alone: what is left to do to images already resized. */
    public ResizePad padOnly() {
        return new ResizePad(null, pad);
    }

    /**
     * The dataset's images resized and padded, labels and class names kept, normalised by
     * {@link Normalization#scale()} (it is applied before {@link LoadedData#prepare}).
     *
     * @throws DataException when the result would not fit in memory
     */
    public Dataset apply(Dataset set) {
        int[] in = set.sampleShape();
        int[] out = outputShape(in);
        if (Arrays.equals(in, out)) {
            return set;
        }
        int inSize = set.sampleSize();
        int outSize = out[0] * out[1] * out[2];
        byte[] pixels = Dataset.allocatePixels(set.size(), out, "data.resize or data.pad");
        IntStream.range(0, set.size()).parallel().forEach(i -> {
            byte[] raw = new byte[inSize];
            set.copyRaw(i, raw, 0);
            write(raw, in, pixels, i * outSize);
        });
        return Dataset.of(pixels, set.labels(), out, set.classNames());
    }

    /**
     * Writes one image ({@code in[0]} channel planes of {@code in[1] x in[2]} bytes) resized and padded at
     * {@code dst[offset...]}, which the caller has zeroed.
     */
    void write(byte[] src, int[] in, byte[] dst, int offset) {
        int c = in[0];
        int h = resize == null ? in[1] : resize[0];
        int w = resize == null ? in[2] : resize[1];
        byte[] sized = src;
        if (h != in[1] || w != in[2]) {
            sized = new byte[c * h * w];
            Resampler.resample(src, c, in[2], in[1], 0, 0, in[2], in[1], w, h, false, sized, 0);
        }
        int ow = w + 2 * pad;
        int outPlane = (h + 2 * pad) * ow;
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < h; y++) {
                System.arraycopy(sized, (ch * h + y) * w, dst, offset + ch * outPlane + (y + pad) * ow + pad, w);
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ResizePad r && pad == r.pad && Arrays.equals(resize, r.resize);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(resize) + pad;
    }

    @Override
    public String toString() {
        return "ResizePad[resize=" + Arrays.toString(resize) + ", pad=" + pad + "]";
    }
}
