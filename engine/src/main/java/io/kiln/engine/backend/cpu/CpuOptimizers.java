package io.kiln.engine.backend.cpu;

/**
 * The optimizer updates over parameter arrays, elementwise and parallel over the elements, with weight
 * decay as L2 added to the gradient (the formulas are {@link io.kiln.engine.backend.Backend}'s).
 */
record CpuOptimizers(ParallelLoops loops) {
    /** vd is null without momentum. */
    void sgd(float[] wd, float[] gd, float[] vd, float lr, float momentum, boolean nesterov, float weightDecay) {
        loops.parallel(wd.length, 4L * wd.length, (ci, from, to) -> {
            if (vd == null) {
                for (int i = from; i < to; i++) {
                    float gi = gd[i] + weightDecay * wd[i];
                    wd[i] -= lr * gi;
                }
            } else if (nesterov) {
                for (int i = from; i < to; i++) {
                    float gi = gd[i] + weightDecay * wd[i];
                    float v = momentum * vd[i] + gi;
                    vd[i] = v;
                    wd[i] -= lr * (gi + momentum * v);
                }
            } else {
                for (int i = from; i < to; i++) {
                    float gi = gd[i] + weightDecay * wd[i];
                    float v = momentum * vd[i] + gi;
                    vd[i] = v;
                    wd[i] -= lr * v;
                }
            }
        });
    }

    void rmsprop(float[] wd, float[] gd, float[] sd, float lr, float alpha, float eps, float weightDecay) {
        loops.parallel(wd.length, 8L * wd.length, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                float gi = gd[i] + weightDecay * wd[i];
                float s = alpha * sd[i] + (1f - alpha) * gi * gi;
                sd[i] = s;
                wd[i] -= lr * gi / ((float) Math.sqrt(s) + eps);
            }
        });
    }

    /** c1 and c2 are the bias corrections 1 - beta1^t and 1 - beta2^t of step t. */
    void adam(float[] wd, float[] gd, float[] md, float[] vd, float lr, float beta1, float beta2, float eps,
              float weightDecay, float c1, float c2) {
        loops.parallel(wd.length, 8L * wd.length, (ci, from, to) -> {
            for (int i = from; i < to; i++) {
                float gi = gd[i] + weightDecay * wd[i];
                float mi = beta1 * md[i] + (1f - beta1) * gi;
                float vi = beta2 * vd[i] + (1f - beta2) * gi * gi;
                md[i] = mi;
                vd[i] = vi;
                wd[i] -= lr * (mi / c1) / ((float) Math.sqrt(vi / c2) + eps);
            }
        });
    }
}
