package io.kiln.engine.backend.cuda;

import static io.kiln.engine.backend.cuda.CudnnScalars.ONE;
import static io.kiln.engine.backend.cuda.CudnnScalars.ZERO;

import io.kiln.engine.backend.LossKind;
import java.util.Arrays;
import jcuda.driver.CUdeviceptr;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnSoftmaxAlgorithm;
import jcuda.jcudnn.cudnnSoftmaxMode;
import jcuda.jcudnn.cudnnTensorDescriptor;

/**
 * Softmax (cuDNN, accurate mode) and the fused losses (Kiln's {@code kiln_loss} kernel over as many blocks as
 * {@link LossReduction} plans, each reducing its threads' sums in shared memory, then {@code kiln_loss_finish}
 * adding the blocks' sums in order; a label that is not a class index makes the loss NaN, which the trainer
 * reports, instead of an exception); the temporal softmax of sequence models has a kernel of its own
 * ({@code kiln_temporal_softmax_loss}, in {@code sequences.cuh}, on one block). Arguments are checked by the backend.
 */
record CudaLosses(CudaContext context, CudaChecks checks, TensorDescriptors descriptors, KernelLauncher kernels,
                  DeviceAllocator<CUdeviceptr> allocator) {
    /** Row-wise softmax of {@code [n, k]} scores (k the elements per row). */
    void softmax(int n, int k, CudaTensor scores, CudaTensor probabilities) {
        cudnnTensorDescriptor d = descriptors.nchw(n, k, 1, 1);
        checks.dnn(() -> JCudnn.cudnnSoftmaxForward(context.cudnn(), cudnnSoftmaxAlgorithm.CUDNN_SOFTMAX_ACCURATE,
                        cudnnSoftmaxMode.CUDNN_SOFTMAX_MODE_INSTANCE, ONE, d, scores.pointer(), ZERO, d,
                        probabilities.pointer()),
                "cudnnSoftmaxForward", Arrays.toString(scores.shape()));
    }

    /** The kernel's code for a loss (kernels.cu's LOSS_* constants). */
    private static int lossKind(LossKind kind) {
        return switch (kind) {
            case SOFTMAX_CROSS_ENTROPY -> 0;
            case MULTICLASS_HINGE -> 1;
            case LOGISTIC -> 2;
            case MSE -> 3;
            case TEMPORAL_SOFTMAX -> throw new IllegalStateException("TEMPORAL_SOFTMAX has a kernel of its own");
        };
    }

    /** grad is null for evaluation. */
    void loss(LossKind kind, int n, int k, CudaTensor output, CudaTensor labels, CudaTensor grad, CudaTensor stats,
              int slot) {
        if (kind == LossKind.TEMPORAL_SOFTMAX) {
            kernels.launchGrid("kiln_temporal_softmax_loss", 1, output, labels, grad, stats, n, k, slot, grad != null);
            return;
        }
        LossReduction plan = LossReduction.plan(n, kernels.reductionBlocks());
        DeviceAllocator.Block<CUdeviceptr> partial = allocator.allocate(plan.partialBytes(), "the loss's partial sums");
        try {
            kernels.launchGrid("kiln_loss", plan.blocks(), lossKind(kind), output, labels, grad, partial.pointer, n, k,
                    grad != null);
            kernels.launchGrid("kiln_loss_finish", 1, partial.pointer, plan.blocks(), stats, slot);
        } finally {
            allocator.release(partial); // the stream runs its next user after these kernels
        }
    }
}
