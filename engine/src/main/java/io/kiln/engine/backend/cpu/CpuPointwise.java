package io.kiln.engine.backend.cpu;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.ArgumentChecks.Channels;
import io.kiln.engine.backend.CounterRandom;

/**
 * The elementwise operations (activations, add, multiply, axpy, scale, dropout) and the per-channel bias
 * and its gradient: single loops over arrays, parallel over elements or channels when large. The cost
 * passed to the loops is about the operations per element, so cheap loops stay on one thread longer.
 */
record CpuPointwise(ParallelLoops loops) {
    void addBias(Channels s, float[] yd, float[] bd) {
        int n = s.n(), c = s.c(), spatial = s.spatial();
        if (spatial == 1) {
            loops.parallel(n, (long) n * c, (ci, from, to) -> {
                for (int i = from; i < to; i++) {
                    int o = i * c;
                    for (int j = 0; j < c; j++) {
                        yd[o + j] += bd[j];
                    }
                }
            });
        } else {
            loops.parallel(n * c, (long) yd.length, (ci, from, to) -> {
                for (int nc = from; nc < to; nc++) {
                    float v = bd[nc % c];
                    int o = nc * spatial;
                    for (int p = 0; p < spatial; p++) {
                        yd[o + p] += v;
                    }
                }
            });
        }
    }

    void biasBackward(Channels s, float[] dyd, float[] dbd) {
        int n = s.n(), c = s.c(), spatial = s.spatial();
        loops.parallel(c, (long) dyd.length, (ci, from, to) -> {
            for (int ch = from; ch < to; ch++) {
                double total = 0;
                for (int i = 0; i < n; i++) {
                    total += Reductions.sum(dyd, (i * c + ch) * spatial, spatial);
                }
                dbd[ch] = (float) total;
            }
        });
    }

    void activationForward(Activation f, float[] xd, float[] yd) {
        long cost = f == Activation.RELU ? 1 : 16;
        loops.parallel(xd.length, cost * xd.length, (ci, from, to) -> {
            switch (f) {
                case RELU -> {
                    for (int i = from; i < to; i++) {
                        yd[i] = Math.max(xd[i], 0f);
                    }
                }
                case SIGMOID -> {
                    for (int i = from; i < to; i++) {
                        yd[i] = (float) (1.0 / (1.0 + Math.exp(-xd[i])));
                    }
                }
                case TANH -> {
                    for (int i = from; i < to; i++) {
                        yd[i] = (float) Math.tanh(xd[i]);
                    }
                }
            }
        });
    }

    void activationBackward(Activation f, float[] yd, float[] dyd, float[] dxd) {
        loops.parallel(yd.length, 2L * yd.length, (ci, from, to) -> {
            switch (f) {
                case RELU -> {
                    // dx = y > 0 ? dy : 0 without a float ?: (a mispredicted jump per element): keep dy's bits
                    // under a mask that is all ones exactly when y's bits, as an int, are positive
                    for (int i = from; i < to; i++) {
                        int bits = Float.floatToRawIntBits(yd[i]);
                        int mask = (-bits >> 31) & ~(bits >> 31);
                        dxd[i] = Float.intBitsToFloat(Float.floatToRawIntBits(dyd[i]) & mask);
                    }
                }
                case SIGMOID -> {
                    for (int i = from; i < to; i++) {
                        float v = yd[i];
                        dxd[i] = dyd[i] * v * (1f - v);
                    }
                }
                case TANH -> {
                    for (int i = from; i < to; i++) {
                        float v = yd[i];
                        dxd[i] = dyd[i] * (1f - v * v);
                    }
                }
            }
        });
    }

    void add(float[] ad, float[] bd, float[] od) {
        loops.parallel(od.length, od.length, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                od[i] = ad[i] + bd[i];
            }
        });
    }

    void multiply(float[] ad, float[] bd, float[] od) {
        loops.parallel(od.length, od.length, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                od[i] = ad[i] * bd[i];
            }
        });
    }

    void axpy(float alpha, float[] xd, float[] yd) {
        loops.parallel(yd.length, yd.length, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                yd[i] += alpha * xd[i];
            }
        });
    }

    void scale(float[] xd, float alpha) {
        loops.parallel(xd.length, xd.length, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                xd[i] *= alpha;
            }
        });
    }

    void dropout(float[] xd, float p, long seed, float[] md, float[] yd) {
        float keep = 1f / (1f - p);
        loops.parallel(xd.length, 8L * xd.length, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                float mv = CounterRandom.uniform(seed, i) >= p ? keep : 0f;
                md[i] = mv;
                yd[i] = xd[i] * mv;
            }
        });
    }
}
