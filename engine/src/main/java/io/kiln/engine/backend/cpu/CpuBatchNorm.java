package io.kiln.engine.backend.cpu;

import static io.kiln.engine.backend.cpu.Reductions.sum;
import static io.kiln.engine.backend.cpu.Reductions.sumAndDotDeviation;
import static io.kiln.engine.backend.cpu.Reductions.sumSquaredDeviation;

import io.kiln.engine.backend.ArgumentChecks.Channels;

/**
 * Batch normalisation over {@code [n, c, spatial]} arrays, one channel per task: statistics accumulated in
 * double across rows (each row summed in float partial sums), the biased variance for normalising and the
 * unbiased one for the running statistics, as PyTorch and cuDNN (left alone with one value per channel).
 */
record CpuBatchNorm(ParallelLoops loops) {
    void forwardTraining(Channels s, float[] xd, float[] gd, float[] bd, float eps, float momentum, float[] rm,
                         float[] rv, float[] sm, float[] si, float[] yd) {
        int n = s.n(), c = s.c(), spatial = s.spatial();
        long count = (long) n * spatial;
        loops.parallel(c, 4L * xd.length, (ci, from, to) -> {
            for (int ch = from; ch < to; ch++) {
                double total = 0;
                for (int i = 0; i < n; i++) {
                    total += sum(xd, (i * c + ch) * spatial, spatial);
                }
                double mean = count == 0 ? 0 : total / count;
                float mf = (float) mean;
                double sq = 0;
                for (int i = 0; i < n; i++) {
                    sq += sumSquaredDeviation(xd, (i * c + ch) * spatial, spatial, mf);
                }
                double var = count == 0 ? 0 : sq / count;
                float inv = (float) (1.0 / Math.sqrt(var + eps));
                float scaleF = gd[ch] * inv, shift = bd[ch] - mf * scaleF;
                for (int i = 0; i < n; i++) {
                    int o = (i * c + ch) * spatial;
                    for (int p = 0; p < spatial; p++) {
                        yd[o + p] = xd[o + p] * scaleF + shift;
                    }
                }
                sm[ch] = mf;
                si[ch] = inv;
                if (s.updatesRunningStatistics()) {
                    double unbiased = var * count / (count - 1);
                    rm[ch] = (float) ((1.0 - momentum) * rm[ch] + momentum * mean);
                    rv[ch] = (float) ((1.0 - momentum) * rv[ch] + momentum * unbiased);
                }
            }
        });
    }

    void forwardInference(Channels s, float[] xd, float[] gd, float[] bd, float eps, float[] rm, float[] rv,
                          float[] yd) {
        int c = s.c(), spatial = s.spatial();
        float[] scaleF = new float[c], shift = new float[c];
        for (int ch = 0; ch < c; ch++) {
            scaleF[ch] = (float) (gd[ch] / Math.sqrt((double) rv[ch] + eps));
            shift[ch] = bd[ch] - rm[ch] * scaleF[ch];
        }
        loops.parallel(s.n() * c, 2L * xd.length, (ci, from, to) -> {
            for (int nc = from; nc < to; nc++) {
                int ch = nc % c, o = nc * spatial;
                float sc = scaleF[ch], sh = shift[ch];
                for (int p = 0; p < spatial; p++) {
                    yd[o + p] = xd[o + p] * sc + sh;
                }
            }
        });
    }

    void backward(Channels s, float[] xd, float[] dyd, float[] gd, float[] sm, float[] si, float[] dxd, float[] dgd,
                  float[] dbd) {
        int n = s.n(), c = s.c(), spatial = s.spatial();
        long count = (long) n * spatial;
        loops.parallel(c, 4L * xd.length, (ci, from, to) -> {
            float[] sums = new float[2];
            for (int ch = from; ch < to; ch++) {
                float mean = sm[ch], inv = si[ch];
                double sumDy = 0, sumDyXhat = 0;
                for (int i = 0; i < n; i++) {
                    sumAndDotDeviation(dyd, xd, (i * c + ch) * spatial, spatial, mean, sums);
                    sumDy += sums[0];
                    sumDyXhat += sums[1];
                }
                sumDyXhat *= inv;
                dbd[ch] = (float) sumDy;
                dgd[ch] = (float) sumDyXhat;
                if (count == 0) {
                    continue;
                }
                // dx = gamma * inv / M * (M * dy - sum(dy) - xhat * sum(dy * xhat))
                float k1 = gd[ch] * inv;
                float meanDy = (float) (sumDy / count), meanDyXhat = (float) (sumDyXhat / count);
                for (int i = 0; i < n; i++) {
                    int o = (i * c + ch) * spatial;
                    for (int p = 0; p < spatial; p++) {
                        float xhat = (xd[o + p] - mean) * inv;
                        dxd[o + p] = k1 * (dyd[o + p] - meanDy - xhat * meanDyXhat);
                    }
                }
            }
        });
    }
}
