package io.kiln.engine.backend.cpu;

import io.kiln.engine.backend.ConvGeometry;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Direct convolution of one image with stride 1 or 2, on the JDK's Vector API ({@code jdk.incubator.vector}), for
 * the layers where the matrix-product path is weakest: few filters (ResNet20's 16 to 64) make each im2col
 * column feed only that many multiply-adds, so packing the columns cost as much as multiplying them (13 GFLOP/s
 * per core for ResNet20's convolutions against 23 for the product kernel alone).
 *
 * <p>The image is copied once into a zero-padded buffer; an output tile of 4 filters by 16 pixels of one row is
 * then 8 vector registers, summed over every tap (channel, kernel row, kernel column) from loads at the tap's
 * offset into the padded image, so nothing is materialised. The tile reads its 4 filters' weights of a tap from
 * one place ({@link #packFilters}). The filter gradient turns this around: its lanes are 16 filters of dy,
 * transposed to put them side by side, times 6 taps' image values broadcast, summed over the pixels. Plain
 * Java cannot do this: C2 does not vectorise a loop whose two arrays are read at different offsets (1.6
 * against 8.5 GFLOP/s for the same multiply-add), the Vector API does (30 GFLOP/s per core for the tile here).
 *
 * <p>Loaded only when the module is present ({@link VectorSupport}); every caller checks {@link #supports}.
 */
final class VectorConvolution {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
    /** Pixels per vector. */
    static final int LANES = 8;
    /** Filters per tile. */
    static final int FILTERS = 4;

    private VectorConvolution() {
    }

    /** Whether 256-bit vectors are native here (else the API would emulate them, slower than plain loops). */
    static boolean nativeWidth() {
        return FloatVector.SPECIES_PREFERRED.vectorBitSize() >= S.vectorBitSize();
    }

    /**
     * Stride 1, or stride 2 with a kernel wider than 1 (the same stride both ways); an output row of whole
     * vectors and whole tiles of filters. With stride 2 every padded row is stored as its even columns, then its
     * odd ones ({@link #pad}), so the 8 outputs of a vector again read 8 neighbouring floats at each tap:
     * ResNet20's 3x3 downsampling layers ran 1.46-1.73x faster forward and 1.13-1.29x for the filter gradient
     * than on the matrix-product path (2 threads), its 1x1 ones 0.69-0.92x (rearranging the image costs as
     * much as their few taps), so those stay there.
     */
    static boolean supports(ConvGeometry g) {
        int stride = g.strideW();
        return g.strideH() == stride && (stride == 1 || stride == 2 && g.kernelW() > 1) && g.outW() % LANES == 0
                && g.k() % FILTERS == 0;
    }

    /** Floats of a padded row: w + 2 padW, rounded up to whole phases (an even number with stride 2). */
    private static int paddedWidth(ConvGeometry g) {
        int stride = g.strideW();
        return Math.ceilDiv(g.w() + 2 * g.padW(), stride) * stride;
    }

    /** How far the padded image moves from one output row to the next: stride padded rows. */
    static int rowStep(ConvGeometry g) {
        return g.strideH() * paddedWidth(g);
    }

    /** Floats of the padded image, [c, h + 2 padH, {@link #paddedWidth}]. */
    static int paddedSize(ConvGeometry g) {
        return g.c() * (g.h() + 2 * g.padH()) * paddedWidth(g);
    }

    /**
     * padded [c, h + 2 padH, paddedWidth] at pOff = the image at xOff with zeros around it; with stride 2 each
     * row holds its even columns (of the padded image), then its odd ones.
     */
    static void pad(ConvGeometry g, float[] x, int xOff, float[] padded, int pOff) {
        int c = g.c(), h = g.h(), w = g.w(), ph = g.padH(), pw = g.padW();
        int hp = h + 2 * ph, wp = paddedWidth(g), stride = g.strideW(), phase = wp / stride;
        java.util.Arrays.fill(padded, pOff, pOff + c * hp * wp, 0f);
        for (int ch = 0; ch < c; ch++) {
            for (int y = 0; y < h; y++) {
                int from = xOff + (ch * h + y) * w, row = pOff + (ch * hp + y + ph) * wp;
                if (stride == 1) {
                    System.arraycopy(x, from, padded, row + pw, w);
                } else {
                    for (int col = pw; col < pw + w; col++) {
                        padded[row + col % 2 * phase + col / 2] = x[from + col - pw];
                    }
                }
            }
        }
    }

    /**
     * offsets[t] = where tap t = (channel, r, s) starts in the padded image, relative to an output pixel's
     * (output row y, column x starts at y * {@link #rowStep} + x).
     */
    static void offsets(ConvGeometry g, int[] offsets) {
        int hp = g.h() + 2 * g.padH(), wp = paddedWidth(g), stride = g.strideW(), phase = wp / stride, t = 0;
        for (int ch = 0; ch < g.c(); ch++) {
            for (int r = 0; r < g.kernelH(); r++) {
                for (int s = 0; s < g.kernelW(); s++) {
                    offsets[t++] = (ch * hp + r) * wp + s % stride * phase + s / stride;
                }
            }
        }
    }

    /**
     * packed = w [k, taps] with each tile's 4 filters interleaved, {@code [k / 4, taps, 4]}: the tile's weights
     * of one tap are then 4 neighbouring floats, not 4 loads a filter apart (the tile ran 12% faster, one core).
     * Filter f's tile still starts at f * taps.
     */
    static void packFilters(ConvGeometry g, float[] w, float[] packed) {
        int taps = g.c() * g.kernelH() * g.kernelW();
        for (int f = 0; f < g.k(); f += FILTERS) {
            for (int j = 0; j < FILTERS; j++) {
                int from = (f + j) * taps, to = f * taps + j;
                for (int t = 0; t < taps; t++) {
                    packed[to + FILTERS * t] = w[from + t];
                }
            }
        }
    }

    /** Filters [f0, f1) of y_img [k, outH * outW] at yOff = w * columns(padded image), w {@link #packFilters packed}. */
    static void forward(ConvGeometry g, float[] padded, int[] offsets, float[] w, int f0, int f1, float[] y, int yOff) {
        int taps = g.c() * g.kernelH() * g.kernelW(), oh = g.outH(), ow = g.outW(), os = oh * ow;
        int step = rowStep(g);
        int tail = ow % (2 * LANES) == 0 ? ow : ow - LANES; // where a row's last 8 pixels start, if it has them
        for (int f = f0; f < f1; f += FILTERS) {
            int wf = f * taps, yf = yOff + f * os;
            for (int row = 0; row < oh; row++) {
                for (int x = 0; x < tail; x += 2 * LANES) {
                    tile16(padded, offsets, taps, row * step + x, LANES, w, wf, y, yf + row * ow + x, LANES, os);
                }
            }
            if (tail < ow) {
                // the rows' last 8 pixels two rows at a time (all of an 8-pixel-wide map): 8 accumulators, not 4
                int row = 0;
                for (; row + 1 < oh; row += 2) {
                    tile16(padded, offsets, taps, row * step + tail, step, w, wf, y, yf + row * ow + tail, ow, os);
                }
                if (row < oh) {
                    tile8(padded, offsets, taps, row * step + tail, w, wf, y, yf + row * ow + tail, os);
                }
            }
        }
    }

    /**
     * Four filters' outputs at two vectors of 8 pixels, from pixel p (in padded coordinates) and p + dp, into y
     * at o and o + dout for the first filter, o + os and o + os + dout for the second, ...; the filters' weights
     * {@link #packFilters packed} from wf.
     */
    static void tile16(float[] in, int[] offsets, int taps, int p, int dp, float[] w, int wf, float[] y,
                               int o, int dout, int os) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        FloatVector b0 = FloatVector.zero(S), b1 = FloatVector.zero(S), b2 = FloatVector.zero(S), b3 = FloatVector.zero(S);
        for (int t = 0; t < taps; t++) {
            int i = p + offsets[t], q = wf + FILTERS * t;
            FloatVector lo = FloatVector.fromArray(S, in, i), hi = FloatVector.fromArray(S, in, i + dp);
            FloatVector w0 = FloatVector.broadcast(S, w[q]), w1 = FloatVector.broadcast(S, w[q + 1]);
            FloatVector w2 = FloatVector.broadcast(S, w[q + 2]), w3 = FloatVector.broadcast(S, w[q + 3]);
            a0 = lo.fma(w0, a0);
            a1 = lo.fma(w1, a1);
            a2 = lo.fma(w2, a2);
            a3 = lo.fma(w3, a3);
            b0 = hi.fma(w0, b0);
            b1 = hi.fma(w1, b1);
            b2 = hi.fma(w2, b2);
            b3 = hi.fma(w3, b3);
        }
        a0.intoArray(y, o);
        b0.intoArray(y, o + dout);
        a1.intoArray(y, o + os);
        b1.intoArray(y, o + os + dout);
        a2.intoArray(y, o + 2 * os);
        b2.intoArray(y, o + 2 * os + dout);
        a3.intoArray(y, o + 3 * os);
        b3.intoArray(y, o + 3 * os + dout);
    }

    /** The same for one vector of 8 pixels (the last row of an odd number of 8-pixel tails). */
    private static void tile8(float[] in, int[] offsets, int taps, int p, float[] w, int wf, float[] y, int o, int os) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        for (int t = 0; t < taps; t++) {
            FloatVector v = FloatVector.fromArray(S, in, p + offsets[t]);
            int q = wf + FILTERS * t;
            a0 = v.fma(FloatVector.broadcast(S, w[q]), a0);
            a1 = v.fma(FloatVector.broadcast(S, w[q + 1]), a1);
            a2 = v.fma(FloatVector.broadcast(S, w[q + 2]), a2);
            a3 = v.fma(FloatVector.broadcast(S, w[q + 3]), a3);
        }
        a0.intoArray(y, o);
        a1.intoArray(y, o + os);
        a2.intoArray(y, o + 2 * os);
        a3.intoArray(y, o + 3 * os);
    }

    /** Filters per block of the filter gradient: two vectors' lanes. */
    static final int GRADIENT_FILTERS = 2 * LANES;
    /** Taps per pass of the filter gradient's loop. */
    private static final int GRADIENT_TAPS = 6;

    /** Whether g's filter gradient runs here: {@link #supports} it, and filters in whole blocks of 16. */
    static boolean supportsFilterGradient(ConvGeometry g) {
        return supports(g) && g.k() % GRADIENT_FILTERS == 0;
    }

    /**
     * at[q] = where output pixel q of {@code images} images (image, row, column) starts in their padded images
     * (each {@link #paddedSize} floats); returns the pixel count. One flat list, so that {@link #filterGradient}
     * runs one loop over the pixels: C2 keeps the Vector API's accumulators in registers across one loop, but
     * boxed them across nested ones (3x slower).
     */
    static int pixelPositions(ConvGeometry g, int images, int[] at) {
        int oh = g.outH(), ow = g.outW(), step = rowStep(g), imageSize = paddedSize(g), q = 0;
        for (int img = 0; img < images; img++) {
            for (int row = 0; row < oh; row++) {
                int base = img * imageSize + row * step;
                for (int x = 0; x < ow; x++) {
                    at[q++] = base + x;
                }
            }
        }
        return q;
    }

    /**
     * dyT [k / 16, pixels, 16] = {@code images} images of dy [n, k, outH * outW] from dyOff, pixels = images *
     * outH * outW: each block of 16 filters holds, pixel by pixel, its 16 values side by side. In strips of 64
     * pixels: a 32x32 map's 16 rows of dy, 4 KB apart, fell in one set of the L1 cache read across whole rows,
     * and the transposing cost ResNet20's first stage a fifth of its filter gradient (one core).
     */
    static void transposeOutputs(ConvGeometry g, float[] dy, int dyOff, int images, float[] dyT) {
        int k = g.k(), os = g.outH() * g.outW(), pixels = images * os, strip = 64;
        for (int img = 0; img < images; img++) {
            for (int block = 0; block < k / GRADIENT_FILTERS; block++) {
                int from = dyOff + (img * k + block * GRADIENT_FILTERS) * os;
                int to = (block * pixels + img * os) * GRADIENT_FILTERS;
                for (int p0 = 0; p0 < os; p0 += strip) {
                    int p1 = Math.min(os, p0 + strip);
                    for (int j = 0; j < GRADIENT_FILTERS; j++) {
                        int src = from + j * os;
                        for (int p = p0; p < p1; p++) {
                            dyT[to + p * GRADIENT_FILTERS + j] = dy[src + p];
                        }
                    }
                }
            }
        }
    }

    /**
     * dwT [taps, k] += the sum over the pixels of dy times the image at each tap's offset: for a block of 16
     * filters and 6 taps, each pixel's 16 dy values ({@link #transposeOutputs transposed} into dyT) times the
     * 6 taps' image values broadcast, 12 accumulators whose lanes are filters, so nothing is added across
     * lanes. The pixels are those {@link #pixelPositions} lists, {@code pixels} of them. Vectors over pixels
     * instead (dy's own layout) needed 7 vector loads per 12 multiply-adds and a sum across lanes per tap,
     * and ran at 1.4-1.9x less on ResNet20's and VGG11's layers (one core, the transposing included).
     */
    static void filterGradient(ConvGeometry g, float[] padded, int[] at, int pixels, int[] offsets, float[] dyT,
                               float[] dwT) {
        int taps = g.c() * g.kernelH() * g.kernelW(), k = g.k();
        for (int f = 0; f < k; f += GRADIENT_FILTERS) {
            int d = f * pixels, t = 0;
            for (; t + GRADIENT_TAPS <= taps; t += GRADIENT_TAPS) {
                sixTaps(padded, at, pixels, offsets[t], offsets[t + 1], offsets[t + 2], offsets[t + 3], offsets[t + 4],
                        offsets[t + 5], dyT, d, dwT, t * k + f, k);
            }
            for (; t < taps; t++) { // taps left over after the sixes: 3 of a 3x3 kernel over odd channels (RGB)
                oneTap(padded, at, pixels, offsets[t], dyT, d, dwT, t * k + f);
            }
        }
    }

    /*
     * The vector loops are methods of their own without a branch: when C2 recompiles a method after a branch
     * it had never seen taken (an odd tap count, a row's tail), the method runs in C1's code meanwhile, which
     * allocates every vector (VGG11 made 9 GB/s of garbage until filterGradient was compiled again); a caller
     * running in C1 only passes arrays and ints to these. A vector passed to a method is boxed: keep them local.
     */

    /** dwT[w + j * k, 16 floats] += 16 filters' sums over the pixels of dy times taps u0 ... u5 (j = 0 ... 5). */
    private static void sixTaps(float[] padded, int[] at, int pixels, int u0, int u1, int u2, int u3, int u4, int u5,
                                float[] dyT, int d, float[] dwT, int w, int k) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S);
        FloatVector a3 = FloatVector.zero(S), a4 = FloatVector.zero(S), a5 = FloatVector.zero(S);
        FloatVector b0 = FloatVector.zero(S), b1 = FloatVector.zero(S), b2 = FloatVector.zero(S);
        FloatVector b3 = FloatVector.zero(S), b4 = FloatVector.zero(S), b5 = FloatVector.zero(S);
        for (int q = 0; q < pixels; q++) {
            int p = at[q], e = d + GRADIENT_FILTERS * q;
            FloatVector lo = FloatVector.fromArray(S, dyT, e), hi = FloatVector.fromArray(S, dyT, e + LANES);
            FloatVector x = FloatVector.broadcast(S, padded[p + u0]);
            a0 = lo.fma(x, a0);
            b0 = hi.fma(x, b0);
            x = FloatVector.broadcast(S, padded[p + u1]);
            a1 = lo.fma(x, a1);
            b1 = hi.fma(x, b1);
            x = FloatVector.broadcast(S, padded[p + u2]);
            a2 = lo.fma(x, a2);
            b2 = hi.fma(x, b2);
            x = FloatVector.broadcast(S, padded[p + u3]);
            a3 = lo.fma(x, a3);
            b3 = hi.fma(x, b3);
            x = FloatVector.broadcast(S, padded[p + u4]);
            a4 = lo.fma(x, a4);
            b4 = hi.fma(x, b4);
            x = FloatVector.broadcast(S, padded[p + u5]);
            a5 = lo.fma(x, a5);
            b5 = hi.fma(x, b5);
        }
        a0.add(FloatVector.fromArray(S, dwT, w)).intoArray(dwT, w);
        b0.add(FloatVector.fromArray(S, dwT, w + LANES)).intoArray(dwT, w + LANES);
        a1.add(FloatVector.fromArray(S, dwT, w + k)).intoArray(dwT, w + k);
        b1.add(FloatVector.fromArray(S, dwT, w + k + LANES)).intoArray(dwT, w + k + LANES);
        a2.add(FloatVector.fromArray(S, dwT, w + 2 * k)).intoArray(dwT, w + 2 * k);
        b2.add(FloatVector.fromArray(S, dwT, w + 2 * k + LANES)).intoArray(dwT, w + 2 * k + LANES);
        a3.add(FloatVector.fromArray(S, dwT, w + 3 * k)).intoArray(dwT, w + 3 * k);
        b3.add(FloatVector.fromArray(S, dwT, w + 3 * k + LANES)).intoArray(dwT, w + 3 * k + LANES);
        a4.add(FloatVector.fromArray(S, dwT, w + 4 * k)).intoArray(dwT, w + 4 * k);
        b4.add(FloatVector.fromArray(S, dwT, w + 4 * k + LANES)).intoArray(dwT, w + 4 * k + LANES);
        a5.add(FloatVector.fromArray(S, dwT, w + 5 * k)).intoArray(dwT, w + 5 * k);
        b5.add(FloatVector.fromArray(S, dwT, w + 5 * k + LANES)).intoArray(dwT, w + 5 * k + LANES);
    }

    /** The same for one tap (those left over after the sixes). */
    private static void oneTap(float[] padded, int[] at, int pixels, int u0, float[] dyT, int d, float[] dwT, int w) {
        FloatVector a0 = FloatVector.zero(S), b0 = FloatVector.zero(S);
        for (int q = 0; q < pixels; q++) {
            int e = d + GRADIENT_FILTERS * q;
            FloatVector x = FloatVector.broadcast(S, padded[at[q] + u0]);
            a0 = FloatVector.fromArray(S, dyT, e).fma(x, a0);
            b0 = FloatVector.fromArray(S, dyT, e + LANES).fma(x, b0);
        }
        a0.add(FloatVector.fromArray(S, dwT, w)).intoArray(dwT, w);
        b0.add(FloatVector.fromArray(S, dwT, w + LANES)).intoArray(dwT, w + LANES);
    }
}
