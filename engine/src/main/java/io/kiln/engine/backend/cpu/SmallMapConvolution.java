package io.kiln.engine.backend.cpu;

import io.kiln.engine.backend.ConvGeometry;

/**
 * Direct convolution with stride 1 for feature maps too narrow for {@link VectorConvolution}'s 8-pixel rows
 * (VGG11's 4x4 and 2x2 layers): the vector's 8 lanes are 8 images at one pixel
 * instead of 8 pixels of one image. A block of 8 images is copied into a padded buffer laid out
 * {@code [c, h + 2 padH, w + 2 padW, 8]}, so that every tap of every output pixel is one vector load; tiles of
 * 4 filters by 2 output pixels are {@link VectorConvolution}'s tile of 8 accumulators. Forward and data gradient
 * only (see {@code CpuConvolution}). A last block of fewer than 8 images has zero lanes.
 */
final class SmallMapConvolution {
    /** Images per vector. */
    private static final int LANES = VectorConvolution.LANES;
    private static final int FILTERS = VectorConvolution.FILTERS;

    private SmallMapConvolution() {
    }

    /** Stride 1, filters in fours, at least one full block of images, and rows too short for the other path. */
    static boolean supports(ConvGeometry g) {
        return g.strideH() == 1 && g.strideW() == 1 && g.k() % FILTERS == 0 && g.n() >= LANES
                && g.outW() < LANES;
    }

    /** Floats of a block's padded images. */
    static int paddedSize(ConvGeometry g) {
        return g.c() * (g.h() + 2 * g.padH()) * (g.w() + 2 * g.padW()) * LANES;
    }

    /** Floats of a block's outputs (or dy), {@code [k, outH, outW, 8]}. */
    static int outputSize(ConvGeometry g) {
        return g.k() * g.outH() * g.outW() * LANES;
    }

    /** Image blocks of the batch. */
    static int blocks(ConvGeometry g) {
        return Math.ceilDiv(g.n(), LANES);
    }

    /** padded [c, hp, wp, 8] at pOff = images [8 block, 8 block + 8) of x, zero around them and in missing lanes. */
    static void pad(ConvGeometry g, float[] x, int block, float[] padded, int pOff) {
        int c = g.c(), h = g.h(), w = g.w(), ph = g.padH(), pw = g.padW(), hp = h + 2 * ph, wp = w + 2 * pw;
        java.util.Arrays.fill(padded, pOff, pOff + paddedSize(g), 0f);
        int i0 = block * LANES, images = Math.min(LANES, g.n() - i0), inSize = c * h * w;
        for (int lane = 0; lane < images; lane++) {
            int from = (i0 + lane) * inSize;
            for (int ch = 0; ch < c; ch++) {
                for (int y = 0; y < h; y++) {
                    int src = from + (ch * h + y) * w, dst = pOff + ((ch * hp + y + ph) * wp + pw) * LANES + lane;
                    for (int xx = 0; xx < w; xx++) {
                        padded[dst + xx * LANES] = x[src + xx];
                    }
                }
            }
        }
    }

    /**
     * {@link VectorConvolution#offsets} (tap t = (channel, r, s) relative to an output pixel in one padded image)
     * turned into offsets in the padded block, where every pixel holds 8 lanes.
     */
    static void spreadOffsets(ConvGeometry g, int[] offsets) {
        int taps = g.c() * g.kernelH() * g.kernelW();
        for (int t = 0; t < taps; t++) {
            offsets[t] *= LANES;
        }
    }

    /** The block's outputs [k, oh, ow, 8] = w * columns(padded block), w {@link VectorConvolution#packFilters packed}. */
    static void forward(ConvGeometry g, float[] padded, int[] offsets, float[] w, float[] out) {
        int taps = g.c() * g.kernelH() * g.kernelW(), oh = g.outH(), ow = g.outW(), pixels = oh * ow;
        int wp = g.w() + 2 * g.padW(), os = pixels * LANES;
        for (int f = 0; f < g.k(); f += FILTERS) {
            int wf = f * taps, of = f * os, p = 0;
            for (; p + 1 < pixels; p += 2) {
                int p1 = p + 1;
                int b0 = (p / ow * wp + p % ow) * LANES, b1 = (p1 / ow * wp + p1 % ow) * LANES;
                VectorConvolution.tile16(padded, offsets, taps, b0, b1 - b0, w, wf, out, of + p * LANES, LANES, os);
            }
            if (p < pixels) {
                // an odd pixel count: the last pixel twice, written once more to the same place
                int b = (p / ow * wp + p % ow) * LANES;
                VectorConvolution.tile16(padded, offsets, taps, b, 0, w, wf, out, of + p * LANES, 0, os);
            }
        }
    }

    /** y's images of the block = out [k, oh, ow, 8]. */
    static void unpack(ConvGeometry g, float[] out, int block, float[] y) {
        int i0 = block * LANES, images = Math.min(LANES, g.n() - i0), size = g.k() * g.outH() * g.outW();
        for (int lane = 0; lane < images; lane++) {
            int to = (i0 + lane) * size;
            for (int e = 0; e < size; e++) {
                y[to + e] = out[e * LANES + lane];
            }
        }
    }
}
