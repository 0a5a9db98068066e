package io.kiln.engine.backend.cpu;

import io.kiln.engine.backend.PoolGeometry;
import io.kiln.engine.backend.PoolMode;

import java.util.Arrays;

/** Pooling of one [h, w] plane. */
final class Pooling {
    private Pooling() {
    }

    static void forward(PoolMode mode, PoolGeometry g, float[] x, int xOff, float[] y, int yOff) {
        int h = g.h(), w = g.w(), oh = g.outH(), ow = g.outW();
        float invArea = 1f / (g.windowH() * g.windowW());
        for (int py = 0; py < oh; py++) {
            int h0 = py * g.strideH() - g.padH();
            int hs = Math.max(h0, 0), he = Math.min(h0 + g.windowH(), h);
            for (int px = 0; px < ow; px++) {
                int w0 = px * g.strideW() - g.padW();
                int ws = Math.max(w0, 0), we = Math.min(w0 + g.windowW(), w);
                float v;
                if (mode == PoolMode.MAX) {
                    v = x[xOff + hs * w + ws];
                    for (int iy = hs; iy < he; iy++) {
                        int row = xOff + iy * w;
                        for (int ix = ws; ix < we; ix++) {
                            float e = x[row + ix];
                            if (e > v) {
                                v = e;
                            }
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
                y[yOff + py * ow + px] = v;
            }
        }
    }

    static void backward(PoolMode mode, PoolGeometry g, float[] x, int xOff, float[] dy, int dyOff, float[] dx) {
        int h = g.h(), w = g.w(), oh = g.outH(), ow = g.outW();
        float invArea = 1f / (g.windowH() * g.windowW());
        Arrays.fill(dx, xOff, xOff + h * w, 0f);
        for (int py = 0; py < oh; py++) {
            int h0 = py * g.strideH() - g.padH();
            int hs = Math.max(h0, 0), he = Math.min(h0 + g.windowH(), h);
            for (int px = 0; px < ow; px++) {
                int w0 = px * g.strideW() - g.padW();
                int ws = Math.max(w0, 0), we = Math.min(w0 + g.windowW(), w);
                float d = dy[dyOff + py * ow + px];
                if (mode == PoolMode.MAX) {
                    int best = xOff + hs * w + ws;
                    float v = x[best];
                    for (int iy = hs; iy < he; iy++) {
                        int row = xOff + iy * w;
                        for (int ix = ws; ix < we; ix++) {
                            if (x[row + ix] > v) {
                                v = x[row + ix];
                                best = row + ix;
                            }
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
            }
        }
    }
}
