package io.kiln.engine.backend.cpu;

import io.kiln.engine.backend.PoolGeometry;
import io.kiln.engine.backend.PoolMode;

import java.util.Arrays;

/**
 * Pooling of one [h, w] plane. Max pooling takes Math.max of the window (so a NaN propagates) and routes
 * the gradient to the first maximum in row-major window order (a later element wins only when strictly
 * greater). The loops are branch-free: a float {@code ?:} compiles to a jump that mispredicts half the
 * time on real data, so values use Math.max and positions are chosen by integer arithmetic. The common
 * 2x2, stride 2, unpadded window has its own path.
 */
final class Pooling {
    private Pooling() {
    }

    private static boolean isPlain2x2(PoolGeometry g) {
        return g.windowH() == 2 && g.windowW() == 2 && g.strideH() == 2 && g.strideW() == 2
                && g.padH() == 0 && g.padW() == 0;
    }

    static void forward(PoolMode mode, PoolGeometry g, float[] x, int xOff, float[] y, int yOff) {
        int h = g.h(), w = g.w(), oh = g.outH(), ow = g.outW();
        if (isPlain2x2(g)) {
            for (int py = 0; py < oh; py++) {
                int r0 = xOff + 2 * py * w, r1 = r0 + w, o = yOff + py * ow;
                if (mode == PoolMode.MAX) {
                    for (int px = 0; px < ow; px++) {
                        float a = x[r0 + 2 * px], b = x[r0 + 2 * px + 1], c = x[r1 + 2 * px], d = x[r1 + 2 * px + 1];
                        y[o + px] = Math.max(Math.max(a, b), Math.max(c, d));
                    }
                } else {
                    for (int px = 0; px < ow; px++) {
                        y[o + px] = (x[r0 + 2 * px] + x[r0 + 2 * px + 1] + x[r1 + 2 * px] + x[r1 + 2 * px + 1]) * 0.25f;
                    }
                }
            }
            return;
        }
        float invArea = 1f / (g.windowH() * g.windowW());
        forEachWindow(g, (o, hs, he, ws, we) -> {
            float v;
            if (mode == PoolMode.MAX) {
                v = x[xOff + hs * w + ws];
                for (int iy = hs; iy < he; iy++) {
                    int row = xOff + iy * w;
                    for (int ix = ws; ix < we; ix++) {
                        v = Math.max(v, x[row + ix]);
                    }
                }
            } else {
                float sum = 0f;
                for (int iy = hs; iy < he; iy++) {
                    int row = xOff + iy * w;
                    for (int ix = ws; ix < we; ix++) {
                        sum += x[row + ix];
                    }
                }
                v = sum * invArea;
            }
            y[yOff + o] = v;
        });
    }

    /** dx of one plane (dx has the layout of x, so it is written at xOff). */
    static void backward(PoolMode mode, PoolGeometry g, float[] x, int xOff, float[] dy, int dyOff, float[] dx) {
        int h = g.h(), w = g.w(), oh = g.outH(), ow = g.outW();
        Arrays.fill(dx, xOff, xOff + h * w, 0f);
        if (isPlain2x2(g)) {
            for (int py = 0; py < oh; py++) {
                int r0 = xOff + 2 * py * w, r1 = r0 + w, o = dyOff + py * ow;
                if (mode == PoolMode.MAX) {
                    for (int px = 0; px < ow; px++) {
                        int p0 = r0 + 2 * px, p2 = r1 + 2 * px;
                        float a = x[p0], b = x[p0 + 1], c = x[p2], d = x[p2 + 1];
                        float ab = Math.max(a, b), cd = Math.max(c, d);
                        int iab = p0 + (b > a ? 1 : 0), icd = p2 + (d > c ? 1 : 0);
                        int later = cd > ab ? 1 : 0;
                        dx[iab + later * (icd - iab)] = dy[o + px];
                    }
                } else {
                    for (int px = 0; px < ow; px++) {
                        float share = dy[o + px] * 0.25f;
                        int p0 = r0 + 2 * px, p2 = r1 + 2 * px;
                        dx[p0] = share;
                        dx[p0 + 1] = share;
                        dx[p2] = share;
                        dx[p2 + 1] = share;
                    }
                }
            }
            return;
        }
        float invArea = 1f / (g.windowH() * g.windowW());
        forEachWindow(g, (o, hs, he, ws, we) -> {
            float d = dy[dyOff + o];
            if (mode == PoolMode.MAX) {
                int best = xOff + hs * w + ws;
                float v = x[best];
                for (int iy = hs; iy < he; iy++) {
                    int row = xOff + iy * w;
                    for (int ix = ws; ix < we; ix++) {
                        float e = x[row + ix];
                        best += (e > v ? 1 : 0) * (row + ix - best);
                        v = Math.max(v, e);
                    }
                }
                dx[best] += d;
            } else {
                float share = d * invArea;
                for (int iy = hs; iy < he; iy++) {
                    int row = xOff + iy * w;
                    for (int ix = ws; ix < we; ix++) {
                        dx[row + ix] += share;
                    }
                }
            }
        });
    }

    /** What the general path does with one output pixel o's window: rows [hs, he), columns [ws, we) of the plane. */
    private interface Window {
        void at(int o, int hs, int he, int ws, int we);
    }

    /** body for every output pixel of the plane, its window clipped to the plane (padding reads nothing). */
    private static void forEachWindow(PoolGeometry g, Window body) {
        int h = g.h(), w = g.w(), ow = g.outW();
        for (int py = 0; py < g.outH(); py++) {
            int h0 = py * g.strideH() - g.padH();
            int hs = Math.max(h0, 0), he = Math.min(h0 + g.windowH(), h);
            for (int px = 0; px < ow; px++) {
                int w0 = px * g.strideW() - g.padW();
                body.at(py * ow + px, hs, he, Math.max(w0, 0), Math.min(w0 + g.windowW(), w));
            }
        }
    }
}
