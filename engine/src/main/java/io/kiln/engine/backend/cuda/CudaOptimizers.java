package io.kiln.engine.backend.cuda;

/**
 * The optimizer updates as Kiln's kernels, elementwise; built with -fmad=false they compute exactly what the
 * CPU backend does. Arguments are checked by the backend.
 */
record CudaOptimizers(KernelLauncher kernels) {
    /** velocity is null without momentum; the kernel's mode is 0 plain, 1 momentum, 2 Nesterov. */
    void sgd(CudaTensor w, CudaTensor g, CudaTensor velocity, float lr, float momentum, boolean nesterov,
             float weightDecay) {
        kernels.launch("kiln_sgd", w.size(), w, g, velocity, lr, momentum, weightDecay,
                velocity == null ? 0 : nesterov ? 2 : 1, w.size());
    }

    void rmsprop(CudaTensor w, CudaTensor g, CudaTensor squareAvg, float lr, float alpha, float eps, float weightDecay) {
        kernels.launch("kiln_rmsprop", w.size(), w, g, squareAvg, lr, alpha, eps, weightDecay, w.size());
    }

    /** c1 and c2 are the bias corrections 1 - beta1^t and 1 - beta2^t of step t. */
    void adam(CudaTensor w, CudaTensor g, CudaTensor m, CudaTensor v, float lr, float beta1, float beta2, float eps,
              float weightDecay, float c1, float c2) {
        kernels.launch("kiln_adam", w.size(), w, g, m, v, lr, beta1, beta2, eps, weightDecay, c1, c2, w.size());
    }
}
