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
        im2col(g, x, xOff, col, 0, g.outH() * g.outW());
    }

    /**
     * The same into a wider matrix: row (ci, r, s) starts at colOff + row * ld, so that several images'
     * columns can sit side by side (image i at colOff = i * outH * outW, ld = images * outH * outW).
     */
    static void im2col(ConvGeometry g, float[] x, int xOff, float[] col, int colOff, int ld) {
        int c = g.c(), h = g.h(), w = g.w(), kh = g.kernelH(), kw = g.kernelW();
        int sh = g.strideH(), sw = g.strideW(), ph = g.padH(), pw = g.padW();
        int oh = g.outH(), ow = g.outW();
        boolean padded = ph > 0 || pw > 0;
        int row = 0;
        for (int ci = 0; ci < c; ci++) {
            int plane = xOff + ci * h * w;
            for (int r = 0; r < kh; r++) {
                for (int s = 0; s < kw; s++, row++) {
                    int base = colOff + row * ld;
                    int lo = Math.min(lo(s, sw, pw), ow);
                    int hi = hi(s, sw, pw, w, ow, lo);
                    if (padded) {
                        // padding makes many runs of one or two zeros: clear the row once, copy the image parts
                        Arrays.fill(col, base, base + oh * ow, 0f);
                    }
                    for (int y = 0; y < oh; y++) {
                        int ih = y * sh - ph + r;
                        int o = base + y * ow;
                        if (ih < 0 || ih >= h) {
                            if (!padded) {
                                Arrays.fill(col, o, o + ow, 0f);
                            }
                            continue;
                        }
                        if (lo > 0 && !padded) {
                            zero(col, o, o + lo);
                        }
                        int src = plane + ih * w - pw + s;
                        if (sw == 1) {
                            System.arraycopy(x, src + lo, col, o + lo, hi - lo);
                        } else {
                            for (int xo = lo; xo < hi; xo++) {
                                col[o + xo] = x[src + xo * sw];
                            }
                        }
                        if (hi < ow && !padded) {
                            zero(col, o + hi, o + ow);
                        }
                    }
                }
            }
        }
    }

    /** dx (one image at dxOff) = the sum of the column entries that im2col would have copied from each position. */
    static void col2im(ConvGeometry g, float[] col, float[] dx, int dxOff) {
        col2im(g, col, 0, g.outH() * g.outW(), dx, dxOff);
    }

    /** The same from a wider matrix, row (ci, r, s) of this image starting at colOff + row * ld. */
    static void col2im(ConvGeometry g, float[] col, int colOff, int ld, float[] dx, int dxOff) {
        int c = g.c(), h = g.h(), w = g.w(), kh = g.kernelH(), kw = g.kernelW();
        int sh = g.strideH(), sw = g.strideW(), ph = g.padH(), pw = g.padW();
        int oh = g.outH(), ow = g.outW();
        Arrays.fill(dx, dxOff, dxOff + c * h * w, 0f);
        int row = 0;
        for (int ci = 0; ci < c; ci++) {
            int plane = dxOff + ci * h * w;
            for (int r = 0; r < kh; r++) {
                for (int s = 0; s < kw; s++, row++) {
                    int base = colOff + row * ld;
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

    /**
     * op(B) = the column matrix {@code [c * kernelH * kernelW, outH * outW]} of the image at xOff, packed
     * straight from the image (row (ci, r, s), column oh * outW + ow).
     */
    record Columns(ConvGeometry g, float[] x, int xOff) implements Gemm.BPanel {
        @Override
        public void pack(int pb, int kcb, int jb, int ncb, float[][] panel) {
            int h = g.h(), w = g.w(), kh = g.kernelH(), kw = g.kernelW(), khw = kh * kw;
            int sh = g.strideH(), sw = g.strideW(), ph = g.padH(), pw = g.padW();
            int ow = g.outW();
            boolean padded = ph > 0 || pw > 0;
            for (int pp = 0; pp < kcb; pp++) {
                int p = pb + pp;
                int ci = p / khw, rs = p - ci * khw, r = rs / kw, s = rs - r * kw;
                int plane = xOff + ci * h * w;
                int lo = Math.min(lo(s, sw, pw), ow);
                int hi = hi(s, sw, pw, w, ow, lo);
                float[] row = panel[pp];
                if (padded) {
                    // padding makes many short runs of zeros: clear the row once, then copy the image parts
                    Arrays.fill(row, 0, ncb, 0f);
                }
                int pix = jb, end = jb + ncb, y = pix / ow, x0 = pix - y * ow, dst = 0;
                while (pix < end) {
                    int x1 = Math.min(ow, x0 + (end - pix)); // this output row's columns [x0, x1)
                    int len = x1 - x0;
                    int ih = y * sh - ph + r;
                    if (ih < 0 || ih >= h) {
                        if (!padded) {
                            zero(row, dst, dst + len);
                        }
                    } else {
                        int a = Math.max(x0, lo), b = Math.min(x1, hi);
                        if (a >= b) {
                            if (!padded) {
                                zero(row, dst, dst + len);
                            }
                        } else {
                            if (!padded) {
                                zero(row, dst, dst + a - x0);
                            }
                            int src = plane + ih * w - pw + s;
                            int d = dst - x0;
                            if (sw == 1) {
                                System.arraycopy(x, src + a, row, d + a, b - a);
                            } else {
                                for (int xo = a; xo < b; xo++) {
                                    row[d + xo] = x[src + xo * sw];
                                }
                            }
                            if (!padded) {
                                zero(row, d + b, d + x1);
                            }
                        }
                    }
                    dst += len;
                    pix += len;
                    y++;
                    x0 = 0;
                }
            }
        }
    }

    /** row[from, to) = 0; a plain loop, cheaper than Arrays.fill for the short runs of padding. */
    private static void zero(float[] row, int from, int to) {
        for (int i = from; i < to; i++) {
            row[i] = 0f;
        }
    }
}
