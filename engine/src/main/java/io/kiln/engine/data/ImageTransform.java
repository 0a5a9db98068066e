package io.kiln.engine.data;

import java.util.SplittableRandom;

/**
 * ImageNet-style preprocessing of images of any size, after torchvision's transforms. Evaluation: {@code Resize}
 * of the shorter side to {@code resize}, then {@code CenterCrop} to a {@code side x side} square. Training, with
 * {@code randomCrop}: {@code RandomResizedCrop}, a crop covering a random fraction in {@code scale} of the area
 * with a random aspect ratio in {@code ratio} (uniform in log space), resized to {@code side x side}; without it
 * the evaluation transform. Then, with {@code flip}, {@code RandomHorizontalFlip}.
 *
 * <p>The draws for a training sample come from its key alone, so resumed runs see the same crops. Resampling is
 * Kiln's own bilinear filter (see {@link Resampler}), so pixels differ slightly from Pillow's.
 */
public final class ImageTransform implements TrainingSampler {
    private final int side;
    private final int resize;
    private final boolean randomCrop;
    private final double[] scale;
    private final double[] logRatio;
    private final double[] ratio;
    private final boolean flip;

    public ImageTransform(int side, int resize, boolean randomCrop, double[] scale, double[] ratio, boolean flip) {
        if (side <= 0 || resize < side) {
            throw new IllegalArgumentException("resize " + resize + " and crop " + side + " must satisfy 0 < crop <= resize");
        }
        this.side = side;
        this.resize = resize;
        this.randomCrop = randomCrop;
        this.scale = scale.clone();
        this.ratio = ratio.clone();
        this.logRatio = new double[] {Math.log(ratio[0]), Math.log(ratio[1])};
        this.flip = flip;
    }

    /** The evaluation part alone: resize, then centre crop. */
    public static ImageTransform evaluation(int side, int resize) {
        return new ImageTransform(side, resize, false, new double[] {1, 1}, new double[] {1, 1}, false);
    }

    /** The side of the square images it makes. */
    public int side() {
        return side;
    }

    /** Whether training samples are drawn from the source images (which the dataset must then keep). */
    public boolean randomCrop() {
        return randomCrop;
    }

    /** Whether training draws anything at random (a crop or a flip). */
    public boolean random() {
        return randomCrop || flip;
    }

    /** The evaluation image of {@code img}: {@code img.channels()} planes of {@code side * side} bytes at {@code dst[offset...]}. */
    void evaluate(SourceImage img, byte[] dst, int offset) {
        int w = img.width();
        int h = img.height();
        // torchvision's Resize(int): the shorter side becomes `resize`, the longer keeps the aspect (truncated)
        int rw = w <= h ? resize : (int) ((long) resize * w / h);
        int rh = w <= h ? (int) ((long) resize * h / w) : resize;
        int top = (int) Math.round((rh - side) / 2.0);
        int left = (int) Math.round((rw - side) / 2.0);
        double sx = (double) w / rw;
        double sy = (double) h / rh;
        Resampler.resample(img.pixels(), img.channels(), w, h, left * sx, top * sy, side * sx, side * sy, side, side,
                false, dst, offset);
    }

    @Override
    public void sample(Dataset set, int i, long key, float[] dst, int offset) {
        SplittableRandom rng = new SplittableRandom(key);
        boolean mirror = flip && rng.nextBoolean();
        byte[] raw = new byte[set.sampleSize()];
        if (randomCrop) {
            SourceImage img = set.source(i);
            double[] box = cropBox(img.width(), img.height(), rng);
            Resampler.resample(img.pixels(), img.channels(), img.width(), img.height(), box[0], box[1], box[2], box[3],
                    side, side, mirror, raw, 0);
        } else {
            set.copyRaw(i, raw, 0);
            if (mirror) {
                mirrorRows(raw, set.channels() * set.height(), set.width());
            }
        }
        set.toFeatures(raw, dst, offset);
    }

    /** {@code RandomResizedCrop.get_params}: x, y, width and height of the crop in source pixels. */
    double[] cropBox(int width, int height, SplittableRandom rng) {
        double area = (double) width * height;
        for (int attempt = 0; attempt < 10; attempt++) {
            double target = area * (scale[0] + rng.nextDouble() * (scale[1] - scale[0]));
            double aspect = Math.exp(logRatio[0] + rng.nextDouble() * (logRatio[1] - logRatio[0]));
            int w = (int) Math.round(Math.sqrt(target * aspect));
            int h = (int) Math.round(Math.sqrt(target / aspect));
            if (w > 0 && w <= width && h > 0 && h <= height) {
                int y = rng.nextInt(height - h + 1);
                int x = rng.nextInt(width - w + 1);
                return new double[] {x, y, w, h};
            }
        }
        // As torchvision: the whole image, cut to the nearest allowed aspect ratio, centred.
        double in = (double) width / height;
        int w = width;
        int h = height;
        if (in < ratio[0]) {
            h = (int) Math.round(w / ratio[0]);
        } else if (in > ratio[1]) {
            w = (int) Math.round(h * ratio[1]);
        }
        return new double[] {(width - w) / 2, (height - h) / 2, w, h};
    }

    private static void mirrorRows(byte[] px, int rows, int width) {
        for (int r = 0; r < rows; r++) {
            for (int a = r * width, b = a + width - 1; a < b; a++, b--) {
                byte t = px[a];
                px[a] = px[b];
                px[b] = t;
            }
        }
    }
}
