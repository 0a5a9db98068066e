package io.kiln.engine.backend.cpu;

import io.kiln.engine.backend.LossKind;

/**
 * Softmax and the fused losses: per sample the loss (summed in double), whether the prediction is right,
 * and the gradient of the batch's mean loss. Labels are checked to be class indices first, because a
 * wrong one would otherwise index outside the row.
 */
record CpuLosses(ParallelLoops loops) {
    /** Row-wise softmax of {@code [n, k]} scores. */
    void softmax(int n, int k, float[] sd, float[] pd) {
        loops.parallel(n, 16L * sd.length, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                int o = i * k;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < k; j++) {
                    max = Math.max(max, sd[o + j]);
                }
                double sum = 0;
                for (int j = 0; j < k; j++) {
                    float e = (float) Math.exp(sd[o + j] - max);
                    pd[o + j] = e;
                    sum += e;
                }
                float inv = (float) (1.0 / sum);
                for (int j = 0; j < k; j++) {
                    pd[o + j] *= inv;
                }
            }
        });
    }

    /** Adds the batch's loss sum and correct count to st[2 slot] and st[2 slot + 1]; writes gd unless null. */
    void loss(LossKind kind, int n, int k, float[] od, float[] ld, float[] gd, float[] st, int slot) {
        boolean regression = kind == LossKind.MSE && k == 1;
        int classes = kind == LossKind.LOGISTIC ? 2 : k;
        if (!regression) {
            for (int i = 0; i < n; i++) {
                float l = ld[i];
                if (!(l >= 0 && l < classes) || l != Math.rint(l)) {
                    throw new IllegalArgumentException("loss: label " + i + " is " + l + ", expected a class index in [0, "
                            + classes + ")");
                }
            }
        }
        float invN = 1f / n;
        double lossSum = 0;
        long correct = 0;
        for (int i = 0; i < n; i++) {
            int o = i * k;
            int y = regression ? 0 : (int) ld[i];
            if (kind == LossKind.TEMPORAL_SOFTMAX && y == 0) {
                // <NULL>: the padding after a caption's end counts for nothing
                if (gd != null) {
                    java.util.Arrays.fill(gd, o, o + k, 0f);
                }
                continue;
            }
            switch (kind) {
                case SOFTMAX_CROSS_ENTROPY, TEMPORAL_SOFTMAX -> {
                    float max = Float.NEGATIVE_INFINITY;
                    int arg = 0;
                    for (int j = 0; j < k; j++) {
                        if (od[o + j] > max) {
                            max = od[o + j];
                            arg = j;
                        }
                    }
                    double sum = 0;
                    for (int j = 0; j < k; j++) {
                        sum += Math.exp(od[o + j] - max);
                    }
                    double lse = max + Math.log(sum);
                    lossSum += lse - od[o + y];
                    if (arg == y) {
                        correct++;
                    }
                    if (gd != null) {
                        for (int j = 0; j < k; j++) {
                            float p = (float) Math.exp(od[o + j] - lse);
                            gd[o + j] = (p - (j == y ? 1f : 0f)) * invN;
                        }
                    }
                }
                case MULTICLASS_HINGE -> {
                    float sy = od[o + y];
                    double l = 0;
                    int active = 0;
                    int arg = argmax(od, o, k);
                    for (int j = 0; j < k; j++) {
                        if (j == y) {
                            continue;
                        }
                        float margin = od[o + j] - sy + 1f;
                        boolean on = margin > 0f;
                        if (on) {
                            l += margin;
                            active++;
                        }
                        if (gd != null) {
                            gd[o + j] = on ? invN : 0f;
                        }
                    }
                    if (gd != null) {
                        gd[o + y] = -active * invN;
                    }
                    lossSum += l;
                    if (arg == y) {
                        correct++;
                    }
                }
                case LOGISTIC -> {
                    float z = od[o];
                    boolean positive = y == 1;
                    double t = positive ? -z : z; // loss = softplus(t)
                    lossSum += Math.max(t, 0) + Math.log1p(Math.exp(-Math.abs(t)));
                    if ((z > 0f) == positive) {
                        correct++;
                    }
                    if (gd != null) {
                        double sig = z >= 0 ? 1.0 / (1.0 + Math.exp(-z)) : Math.exp(z) / (1.0 + Math.exp(z));
                        gd[o] = (float) ((sig - (positive ? 1.0 : 0.0)) * invN);
                    }
                }
                case MSE -> {
                    double l = 0;
                    float gscale = 2f / (k * (float) n);
                    for (int j = 0; j < k; j++) {
                        float t = regression ? ld[i] : (j == y ? 1f : 0f);
                        float d = od[o + j] - t;
                        l += (double) d * d;
                        if (gd != null) {
                            gd[o + j] = d * gscale;
                        }
                    }
                    lossSum += l / k;
                    if (regression ? Math.round(od[o]) == ld[i] : argmax(od, o, k) == y) {
                        correct++;
                    }
                }
            }
        }
        st[2 * slot] += (float) lossSum;
        st[2 * slot + 1] += correct;
    }

    private static int argmax(float[] v, int o, int k) {
        int arg = 0;
        float max = v[o];
        for (int j = 1; j < k; j++) {
            if (v[o + j] > max) {
                max = v[o + j];
                arg = j;
            }
        }
        return arg;
    }
}
