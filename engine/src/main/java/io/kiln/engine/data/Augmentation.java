package io.kiln.engine.data;

import io.kiln.engine.backend.CounterRandom;

/**
 * Training-time image augmentation, as in the usual CIFAR recipes: a random crop of the image padded by
 * {@code crop} pixels on each side (padding with the value a black pixel normalises to), and a horizontal flip
 * with probability 1/2. The draws for a sample are a pure function of a key (seed, epoch, position), so a run
 * and its resumed twin see the same images.
 */
public final class Augmentation implements TrainingSampler {
    private final int crop;
    private final boolean flip;
    private final int channels;
    private final int height;
    private final int width;
    private final float[] padValue;
    private final ThreadLocal<float[]> scratch;

    public Augmentation(int crop, boolean flip, Dataset set) {
        this.crop = crop;
        this.flip = flip;
        this.channels = set.channels();
        this.height = set.height();
        this.width = set.width();
        this.padValue = new float[channels];
        for (int c = 0; c < channels; c++) {
            padValue[c] = set.normalization().apply(c, 0);
        }
        int size = channels * height * width;
        this.scratch = ThreadLocal.withInitial(() -> new float[size]);
    }

    public boolean enabled() {
        return crop > 0 || flip;
    }

    @Override
    public void sample(Dataset set, int i, long key, float[] dst, int offset) {
        set.copySample(i, dst, offset);
        apply(dst, offset, key);
    }

    /** Augments the sample stored at {@code x[offset ...]} in place. */
    public void apply(float[] x, int offset, long key) {
        if (!enabled()) {
            return;
        }
        long bits = CounterRandom.mix(key, 0);
        int span = 2 * crop + 1;
        int dy = crop == 0 ? 0 : (int) Long.remainderUnsigned(bits, span) - crop;
        int dx = crop == 0 ? 0 : (int) Long.remainderUnsigned(bits >>> 20, span) - crop;
        boolean mirror = flip && ((bits >>> 63) & 1) == 1;
        if (dy == 0 && dx == 0 && !mirror) {
            return;
        }
        float[] src = scratch.get();
        int size = channels * height * width;
        System.arraycopy(x, offset, src, 0, size);
        for (int c = 0; c < channels; c++) {
            int plane = c * height * width;
            for (int y = 0; y < height; y++) {
                int sy = y + dy;
                int row = offset + plane + y * width;
                for (int xo = 0; xo < width; xo++) {
                    int sx = (mirror ? width - 1 - xo : xo) + dx;
                    x[row + xo] = sy < 0 || sy >= height || sx < 0 || sx >= width
                            ? padValue[c] : src[plane + sy * width + sx];
                }
            }
        }
    }
}
