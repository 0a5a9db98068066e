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
 * one place ({@link #packFilters}). The filter gradient sums, for 4 filters and 3 taps
 * at a time, dy times the tap-shifted image over the pixels in 8 lanes and adds the lanes at the end. Plain
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

    /**
     * dw[w + f * taps] += filter f's accumulator, stored at lanes[8f, 8f + 8), its lanes added in lane order. Not {@code reduceLanes(ADD)}: its order is left to the
     * implementation, and the compiled one added in another order than the interpreted one, so a gradient
     * changed in its last bits once C2 had compiled the loop. (A vector passed to a method is boxed: keep them
     * local.)
     */
    private static void addSums(float[] lanes, float[] dw, int w, int taps) {
        for (int f = 0; f < FILTERS; f++) {
            float s = 0f;
            for (int l = f * LANES; l < (f + 1) * LANES; l++) {
                s += lanes[l];
            }
            dw[w + f * taps] += s;
        }
    }

    /**
     * Where the vectors of a filter-gradient pass start: for vector q of {@code images} images' outputs (image,
     * row, 8 pixels), {@code at[2q]} in the padded images and {@code at[2q + 1]} in dy (relative to the first
     * image's filter 0). One flat list, so that {@link #filterGradient} runs one loop: C2 keeps the Vector API's
     * accumulators in registers across one loop, but boxed them across nested ones (3x slower).
     */
    static int positions(ConvGeometry g, int images, int[] at) {
        int oh = g.outH(), ow = g.outW(), step = rowStep(g), imageSize = paddedSize(g);
        int dyImage = g.k() * oh * ow, q = 0;
        for (int img = 0; img < images; img++) {
            for (int row = 0; row < oh; row++) {
                for (int x = 0; x < ow; x += LANES, q += 2) {
                    at[q] = img * imageSize + row * step + x;
                    at[q + 1] = img * dyImage + row * ow + x;
                }
            }
        }
        return q / 2;
    }

    /**
     * dw [k, taps] += the sum over the images of dy_img [k, outH * outW] times columns(image)^T: for each filter
     * and tap, the sum over all pixels of dy times the image at the tap's offset. The padded images and dy
     * (from dyOff) are laid out as {@link #positions} says, {@code vectors} of them. The lanes are added once
     * per call, not per image: on an 8x8 map that was a reduction per 64 pixels.
     */
    static void filterGradient(ConvGeometry g, float[] padded, int[] at, int vectors, int[] offsets, float[] dy,
                               int dyOff, float[] dw) {
        int taps = g.c() * g.kernelH() * g.kernelW(), os = g.outH() * g.outW();
        float[] lanes = new float[FILTERS * LANES];
        for (int f = 0; f < g.k(); f += FILTERS) {
            int d = dyOff + f * os, wf = f * taps, t = 0;
            for (; t + 2 < taps; t += 3) {
                tapTriple(padded, at, vectors, offsets[t], offsets[t + 1], offsets[t + 2], dy, d, os, dw, wf + t, taps,
                        lanes);
            }
            for (; t < taps; t++) { // one or two taps left over (never with 3-wide kernels)
                lastTap(padded, at, vectors, offsets[t], dy, d, os, dw, wf + t, taps, lanes);
            }
        }
    }

    /*
     * The vector loops are methods of their own without a branch: when C2 recompiles a method after a branch
     * it had never seen taken (an odd tap count, a row's tail), the method runs in C1's code meanwhile, which
     * allocates every vector (VGG11 made 9 GB/s of garbage until filterGradient was compiled again); a caller
     * running in C1 only passes arrays and ints to these.
     */

    /**
     * dw[w, w + 1, w + 2, then + taps, ...] += four filters' sums over the pixels of dy times taps u0, v0, z0: 12
     * accumulators, the 4 dy vectors loaded once for 12 multiply-adds (the filter gradient ran 1.10-1.15x faster
     * than with 2 taps and 8 accumulators, which left it bound by its loads and their range checks). Each tap has
     * accumulators of its own, so its sums are the same whichever method adds them.
     */
    private static void tapTriple(float[] padded, int[] at, int vectors, int u0, int v0, int z0, float[] dy, int d,
                                  int os, float[] dw, int w, int taps, float[] lanes) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        FloatVector b0 = FloatVector.zero(S), b1 = FloatVector.zero(S), b2 = FloatVector.zero(S), b3 = FloatVector.zero(S);
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S), c2 = FloatVector.zero(S), c3 = FloatVector.zero(S);
        for (int q = 0; q < 2 * vectors; q += 2) {
            int p = at[q], e = d + at[q + 1];
            FloatVector d0 = FloatVector.fromArray(S, dy, e);
            FloatVector d1 = FloatVector.fromArray(S, dy, e + os);
            FloatVector d2 = FloatVector.fromArray(S, dy, e + 2 * os);
            FloatVector d3 = FloatVector.fromArray(S, dy, e + 3 * os);
            FloatVector x = FloatVector.fromArray(S, padded, p + u0);
            a0 = x.fma(d0, a0);
            a1 = x.fma(d1, a1);
            a2 = x.fma(d2, a2);
            a3 = x.fma(d3, a3);
            x = FloatVector.fromArray(S, padded, p + v0);
            b0 = x.fma(d0, b0);
            b1 = x.fma(d1, b1);
            b2 = x.fma(d2, b2);
            b3 = x.fma(d3, b3);
            x = FloatVector.fromArray(S, padded, p + z0);
            c0 = x.fma(d0, c0);
            c1 = x.fma(d1, c1);
            c2 = x.fma(d2, c2);
            c3 = x.fma(d3, c3);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, LANES);
        a2.intoArray(lanes, 2 * LANES);
        a3.intoArray(lanes, 3 * LANES);
        addSums(lanes, dw, w, taps);
        b0.intoArray(lanes, 0);
        b1.intoArray(lanes, LANES);
        b2.intoArray(lanes, 2 * LANES);
        b3.intoArray(lanes, 3 * LANES);
        addSums(lanes, dw, w + 1, taps);
        c0.intoArray(lanes, 0);
        c1.intoArray(lanes, LANES);
        c2.intoArray(lanes, 2 * LANES);
        c3.intoArray(lanes, 3 * LANES);
        addSums(lanes, dw, w + 2, taps);
    }

    /** The same for one tap (those left over after the threes). */
    private static void lastTap(float[] padded, int[] at, int vectors, int u0, float[] dy, int d, int os,
                                float[] dw, int w, int taps, float[] lanes) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        for (int q = 0; q < 2 * vectors; q += 2) {
            int e = d + at[q + 1];
            FloatVector u = FloatVector.fromArray(S, padded, at[q] + u0);
            a0 = u.fma(FloatVector.fromArray(S, dy, e), a0);
            a1 = u.fma(FloatVector.fromArray(S, dy, e + os), a1);
            a2 = u.fma(FloatVector.fromArray(S, dy, e + 2 * os), a2);
            a3 = u.fma(FloatVector.fromArray(S, dy, e + 3 * os), a3);
        }
        a0.intoArray(lanes, 0);
        a1.intoArray(lanes, LANES);
        a2.intoArray(lanes, 2 * LANES);
        a3.intoArray(lanes, 3 * LANES);
        addSums(lanes, dw, w, taps);
    }
}
