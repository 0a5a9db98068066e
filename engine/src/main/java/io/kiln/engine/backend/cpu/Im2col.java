package io.kiln.engine.backend.cpu;

import io.kiln.engine.backend.ConvGeometry;

import java.util.Arrays;

/**
 * Lowering of one image for convolution by matrix product: the column matrix is {@code [c * kernelH *
 * kernelW, outH * outW]}, row (ci, r, s) holding x[ci, oh * strideH - padH + r, ow * strideW - padW + s]
 * (zero outside the image) at column oh * outW + ow.
 */
final class Im2col {
    private Im2col() {
    }

    /** First output column whose input column ow * sw - pw + s is >= 0. */
    private static int lo(int s, int sw, int pw) {
        return Math.max(0, Math.ceilDiv(pw - s, sw));
    }

    /** One past the last output column whose input column is < w, at least lo. */
    private static int hi(int s, int sw, int pw, int w, int ow, int lo) {
        int last = w - 1 + pw - s;
        int h = last < 0 ? 0 : Math.min(ow, last / sw + 1);
        return Math.max(h, lo);
    }

    static void im2col(ConvGeometry g, float[] x, int xOff, float[] col) {
        int c = g.c(), h = g.h(), w = g.w(), kh = g.kernelH(), kw = g.kernelW();
        int sh = g.strideH(), sw = g.strideW(), ph = g.padH(), pw = g.padW();
        int oh = g.outH(), ow = g.outW(), ohw = oh * ow;
        int row = 0;
        for (int ci = 0; ci < c; ci++) {
            int plane = xOff + ci * h * w;
            for (int r = 0; r < kh; r++) {
                for (int s = 0; s < kw; s++, row++) {
                    int base = row * ohw;
                    int lo = Math.min(lo(s, sw, pw), ow);
                    int hi = hi(s, sw, pw, w, ow, lo);
                    for (int y = 0; y < oh; y++) {
                        int ih = y * sh - ph + r;
                        int o = base + y * ow;
                        if (ih < 0 || ih >= h) {
                            Arrays.fill(col, o, o + ow, 0f);
                            continue;
                        }
                        if (lo > 0) {
                            Arrays.fill(col, o, o + lo, 0f);
                        }
                        int src = plane + ih * w - pw + s;
                        if (sw == 1) {
                            System.arraycopy(x, src + lo, col, o + lo, hi - lo);
                        } else {
                            for (int xo = lo; xo < hi; xo++) {
                                col[o + xo] = x[src + xo * sw];
                            }
                        }
                        if (hi < ow) {
                            Arrays.fill(col, o + hi, o + ow, 0f);
                        }
                    }
                }
            }
        }
    }

    /** dx (one image at dxOff) = the sum of the column entries that im2col would have copied from each position. */
    static void col2im(ConvGeometry g, float[] col, float[] dx, int dxOff) {
        int c = g.c(), h = g.h(), w = g.w(), kh = g.kernelH(), kw = g.kernelW();
        int sh = g.strideH(), sw = g.strideW(), ph = g.padH(), pw = g.padW();
        int oh = g.outH(), ow = g.outW(), ohw = oh * ow;
        Arrays.fill(dx, dxOff, dxOff + c * h * w, 0f);
        int row = 0;
        for (int ci = 0; ci < c; ci++) {
            int plane = dxOff + ci * h * w;
            for (int r = 0; r < kh; r++) {
                for (int s = 0; s < kw; s++, row++) {
                    int base = row * ohw;
                    int lo = Math.min(lo(s, sw, pw), ow);
                    int hi = hi(s, sw, pw, w, ow, lo);
                    for (int y = 0; y < oh; y++) {
                        int ih = y * sh - ph + r;
                        if (ih < 0 || ih >= h) {
                            continue;
                        }
                        int o = base + y * ow;
                        int dst = plane + ih * w - pw + s;
                        if (sw == 1) {
                            for (int xo = lo; xo < hi; xo++) {
                                dx[dst + xo] += col[o + xo];
                            }
                        } else {
                            for (int xo = lo; xo < hi; xo++) {
                                dx[dst + xo * sw] += col[o + xo];
                            }
                        }
                    }
                }
            }
        }
    }
}
