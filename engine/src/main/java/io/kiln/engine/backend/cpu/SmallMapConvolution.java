package io.kiln.engine.backend.cpu;

import io.kiln.engine.backend.ConvGeometry;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Direct convolution with stride 1 for feature maps too narrow for {@link VectorConvolution}'s 8-pixel rows
 * (VGG11's 4x4 and 2x2 layers): the vector's 8 lanes are 8 images at one pixel
 * instead of 8 pixels of one image. A block of 8 images is copied into a padded buffer laid out
 * {@code [c, h + 2 padH, w + 2 padW, 8]}, so that every tap of every output pixel is one vector load; tiles of
 * 4 filters by 2 output pixels are 8 accumulators, as in {@link VectorConvolution}. Forward and data gradient
 * only (see {@code CpuConvolution}). A last block of fewer than 8 images has zero lanes.
 */
final class SmallMapConvolution {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
    /** Images per vector. */
    static final int LANES = VectorConvolution.LANES;
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

    /** offsets[t] = where tap t = (channel, r, s) starts in the padded block, relative to an output pixel's. */
    static void offsets(ConvGeometry g, int[] offsets) {
        VectorConvolution.offsets(g, offsets);
        int taps = g.c() * g.kernelH() * g.kernelW();
        for (int t = 0; t < taps; t++) {
            offsets[t] *= LANES;
        }
    }

    /** The block's outputs [k, oh, ow, 8] = w * columns(padded block). */
    static void forward(ConvGeometry g, float[] padded, int[] offsets, float[] w, float[] out) {
        int taps = g.c() * g.kernelH() * g.kernelW(), oh = g.outH(), ow = g.outW(), pixels = oh * ow;
        int wp = g.w() + 2 * g.padW(), os = pixels * LANES;
        for (int f = 0; f < g.k(); f += FILTERS) {
            int wf = f * taps, of = f * os, p = 0;
            for (; p + 1 < pixels; p += 2) {
                int p1 = p + 1;
                tile(padded, offsets, taps, (p / ow * wp + p % ow) * LANES, (p1 / ow * wp + p1 % ow) * LANES, w, wf,
                        out, of + p * LANES, os);
            }
            if (p < pixels) {
                // an odd pixel count: the last pixel twice, written once more to the same place
                int b = (p / ow * wp + p % ow) * LANES;
                tile(padded, offsets, taps, b, b, w, wf, out, of + p * LANES, os, 0);
            }
        }
    }

    private static void tile(float[] in, int[] offsets, int taps, int b0, int b1, float[] w, int wf, float[] out,
                             int o, int os) {
        tile(in, offsets, taps, b0, b1, w, wf, out, o, os, LANES);
    }

    /** Four filters at two output pixels (b0, b1 in the padded block) into out at o and o + dout, o + os, ... */
    private static void tile(float[] in, int[] offsets, int taps, int b0, int b1, float[] w, int wf, float[] out,
                             int o, int os, int dout) {
        FloatVector a0 = FloatVector.zero(S), a1 = FloatVector.zero(S), a2 = FloatVector.zero(S), a3 = FloatVector.zero(S);
        FloatVector c0 = FloatVector.zero(S), c1 = FloatVector.zero(S), c2 = FloatVector.zero(S), c3 = FloatVector.zero(S);
        for (int t = 0; t < taps; t++) {
            int i = offsets[t];
            FloatVector u = FloatVector.fromArray(S, in, b0 + i), v = FloatVector.fromArray(S, in, b1 + i);
            FloatVector w0 = FloatVector.broadcast(S, w[wf + t]), w1 = FloatVector.broadcast(S, w[wf + taps + t]);
            FloatVector w2 = FloatVector.broadcast(S, w[wf + 2 * taps + t]), w3 = FloatVector.broadcast(S, w[wf + 3 * taps + t]);
            a0 = u.fma(w0, a0);
            a1 = u.fma(w1, a1);
            a2 = u.fma(w2, a2);
            a3 = u.fma(w3, a3);
            c0 = v.fma(w0, c0);
            c1 = v.fma(w1, c1);
            c2 = v.fma(w2, c2);
            c3 = v.fma(w3, c3);
        }
        a0.intoArray(out, o);
        a1.intoArray(out, o + os);
        a2.intoArray(out, o + 2 * os);
        a3.intoArray(out, o + 3 * os);
        c0.intoArray(out, o + dout);
        c1.intoArray(out, o + os + dout);
        c2.intoArray(out, o + 2 * os + dout);
        c3.intoArray(out, o + 3 * os + dout);
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
