package io.kiln.engine.data;

/**
 * Resizes a rectangle of an image to another size with a triangle (bilinear) filter whose support widens with
 * the reduction, as Pillow's bilinear resize does, so that shrinking a photo averages its pixels rather than
 * skipping most of them. Separable: rows first, then columns. Images are channel planes of bytes.
 */
final class Resampler {
    private Resampler() {
    }

    /** Taps of one output coordinate: the first source index and the normalised weights. */
    private record Taps(int[] first, float[][] weights) {
    }

    /**
     * Resamples the box {@code [x0, x0 + boxW) x [y0, y0 + boxH)} (in source pixels, fractions allowed) of
     * {@code src} ({@code channels} planes of {@code w * h} bytes) to {@code outW x outH}, written as channel planes
     * to {@code dst} from {@code dstOffset}; with {@code mirror}, each output row is written right to left.
     */
    static void resample(byte[] src, int channels, int w, int h, double x0, double y0, double boxW, double boxH,
                         int outW, int outH, boolean mirror, byte[] dst, int dstOffset) {
        Taps tx = taps(x0, boxW, outW, w);
        Taps ty = taps(y0, boxH, outH, h);
        int rowFrom = h;
        int rowTo = 0;
        for (int oy = 0; oy < outH; oy++) {
            rowFrom = Math.min(rowFrom, ty.first()[oy]);
            rowTo = Math.max(rowTo, ty.first()[oy] + ty.weights()[oy].length);
        }
        float[] rows = new float[(rowTo - rowFrom) * outW];
        int plane = w * h;
        int outPlane = outW * outH;
        for (int c = 0; c < channels; c++) {
            int base = c * plane;
            for (int y = rowFrom; y < rowTo; y++) {
                int row = base + y * w;
                int at = (y - rowFrom) * outW;
                for (int ox = 0; ox < outW; ox++) {
                    float[] wt = tx.weights()[ox];
                    int x = row + tx.first()[ox];
                    float s = 0;
                    for (int k = 0; k < wt.length; k++) {
                        s += wt[k] * (src[x + k] & 0xFF);
                    }
                    rows[at + ox] = s;
                }
            }
            int out = dstOffset + c * outPlane;
            for (int oy = 0; oy < outH; oy++) {
                float[] wt = ty.weights()[oy];
                int first = (ty.first()[oy] - rowFrom) * outW;
                for (int ox = 0; ox < outW; ox++) {
                    float s = 0;
                    for (int k = 0; k < wt.length; k++) {
                        s += wt[k] * rows[first + k * outW + ox];
                    }
                    int v = Math.round(s);
                    dst[out + oy * outW + (mirror ? outW - 1 - ox : ox)] = (byte) (v < 0 ? 0 : Math.min(v, 255));
                }
            }
        }
    }

    /** Source taps for each of {@code out} coordinates covering {@code [from, from + size)} of an axis of {@code n}. */
    private static Taps taps(double from, double size, int out, int n) {
        double scale = size / out;
        double stretch = Math.max(scale, 1.0);
        double support = stretch;
        int[] first = new int[out];
        float[][] weights = new float[out][];
        for (int i = 0; i < out; i++) {
            double centre = from + (i + 0.5) * scale;
            int lo = Math.max(0, (int) Math.floor(centre - support));
            int hi = Math.min(n, (int) Math.ceil(centre + support));
            if (hi <= lo) {
                lo = Math.min(Math.max(0, (int) Math.floor(centre)), n - 1);
                hi = lo + 1;
            }
            float[] wt = new float[hi - lo];
            double sum = 0;
            for (int j = lo; j < hi; j++) {
                double t = Math.abs((j + 0.5 - centre) / stretch);
                double v = t < 1 ? 1 - t : 0;
                wt[j - lo] = (float) v;
                sum += v;
            }
            if (sum <= 0) {
                // the centre falls between taps that all weigh zero: take the nearest pixel
                java.util.Arrays.fill(wt, 0f);
                int nearest = Math.min(Math.max(lo, (int) Math.floor(centre)), hi - 1);
                wt[nearest - lo] = 1f;
            } else {
                for (int k = 0; k < wt.length; k++) {
                    wt[k] = (float) (wt[k] / sum);
                }
            }
            first[i] = lo;
            weights[i] = wt;
        }
        return new Taps(first, weights);
    }
}
