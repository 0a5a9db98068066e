package io.kiln.engine.backend.cuda;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.ArgumentChecks.Channels;
import io.kiln.engine.backend.PoolGeometry;
import io.kiln.engine.backend.PoolMode;
import jcuda.driver.CUdeviceptr;

/**
 * The operations that are one of Kiln's own kernels each: bias and its gradient, pooling, activations,
 * add, multiply, axpy, scale and dropout. Arguments are checked by the backend; the kernels take the codes
 * of kernels.cu's ACT_* and POOL_* constants.
 */
record CudaPointwise(KernelLauncher kernels, DeviceAllocator<CUdeviceptr> allocator) {
    void addBias(Channels s, CudaTensor y, CudaTensor bias) {
        kernels.launch("kiln_add_bias", y.size(), y, bias, s.c(), Math.max(s.spatial(), 1), y.size());
    }

    /**
     * Two passes, as {@link BiasReduction} plans them: per-block partial sums over a {@code (c, chunks)} grid,
     * then each channel's partials added in order. The scratch block goes back to the allocator at once: work on
     * the one stream runs in order, so its next user queues after the second pass.
     */
    void biasBackward(Channels s, CudaTensor dy, CudaTensor db) {
        if (s.c() <= 0) {
            return;
        }
        BiasReduction plan = BiasReduction.plan(s.n(), s.c(), s.spatial(), kernels.reductionBlocks());
        DeviceAllocator.Block<CUdeviceptr> partial = allocator.allocate(plan.partialFloats() * Float.BYTES,
                "the bias gradient's partial sums");
        try {
            kernels.launchGrid2d("kiln_bias_partials", s.c(), plan.chunks(), dy, partial.pointer, s.n(), s.c(), s.spatial(),
                    plan.chunkLen());
            kernels.launch("kiln_bias_finish", s.c(), partial.pointer, db, s.c(), plan.chunks());
        } finally {
            allocator.release(partial);
        }
    }

    private static int poolKind(PoolMode mode) {
        return mode == PoolMode.MAX ? 0 : 1;
    }

    /** One thread per output. */
    void poolForward(PoolMode mode, PoolGeometry g, CudaTensor x, CudaTensor y) {
        int planes = g.n() * g.c();
        kernels.launch("kiln_pool_forward", (long) planes * g.outH() * g.outW(), poolKind(mode), x, y, planes,
                g.h(), g.w(), g.outH(), g.outW(), g.windowH(), g.windowW(), g.strideH(), g.strideW(), g.padH(), g.padW());
    }

    /** One thread per input position, which gathers the gradients of the windows that hold it. */
    void poolBackward(PoolMode mode, PoolGeometry g, CudaTensor x, CudaTensor dy, CudaTensor dx) {
        int planes = g.n() * g.c();
        kernels.launch("kiln_pool_backward", (long) planes * g.h() * g.w(), poolKind(mode), x, dy, dx, planes,
                g.h(), g.w(), g.outH(), g.outW(), g.windowH(), g.windowW(), g.strideH(), g.strideW(), g.padH(), g.padW());
    }

    private static int activationKind(Activation f) {
        return switch (f) {
            case RELU -> 0;
            case SIGMOID -> 1;
            case TANH -> 2;
        };
    }

    void activationForward(Activation f, CudaTensor x, CudaTensor y) {
        kernels.launch("kiln_activation_forward", x.size(), activationKind(f), x, y, x.size());
    }

    void activationBackward(Activation f, CudaTensor y, CudaTensor dy, CudaTensor dx) {
        kernels.launch("kiln_activation_backward", y.size(), activationKind(f), y, dy, dx, y.size());
    }

    /** out = a + b ({@code kiln_add}) or a * b ({@code kiln_multiply}). */
    void elementwise(String kernel, CudaTensor a, CudaTensor b, CudaTensor out) {
        kernels.launch(kernel, a.size(), a, b, out, a.size());
    }

    void axpy(float alpha, CudaTensor x, CudaTensor y) {
        kernels.launch("kiln_axpy", y.size(), alpha, x, y, y.size());
    }

    void scale(CudaTensor x, float alpha) {
        kernels.launch("kiln_scale", x.size(), x, alpha, x.size());
    }

    void dropout(CudaTensor x, float p, long seed, CudaTensor mask, CudaTensor y) {
        float keep = 1f / (1f - p);
        kernels.launch("kiln_dropout", x.size(), x, mask, y, p, keep, seed, x.size());
    }
}
