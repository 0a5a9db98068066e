package io.kiln.engine.backend.cuda;

import io.kiln.engine.backend.ConvGeometry;
import io.kiln.engine.backend.Precision;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnConvolutionDescriptor;
import jcuda.jcudnn.cudnnConvolutionMode;
import jcuda.jcudnn.cudnnDataType;
import jcuda.jcudnn.cudnnFilterDescriptor;
import jcuda.jcudnn.cudnnMathType;
import jcuda.jcudnn.cudnnTensorDescriptor;
import jcuda.jcudnn.cudnnTensorFormat;

/**
 * What each convolution shape needs on cuDNN, kept for the shape's next pass: its descriptors, made once, and
 * for each direction (forward, backward data, backward filter) the algorithm and workspace size that
 * {@link CudnnConvolution} chose on the direction's first use. The math type follows the precision: FMA only in
 * fp32 (no TF32 even on Ampere and newer), tensor cores allowed with TF32.
 */
final class ConvolutionPlans {
    /** The algorithm of one direction and the workspace it needs. */
    record Algorithm(int algo, long workspaceBytes) {
    }

    /** The descriptors of one convolution shape and the algorithms chosen for it so far (null: not yet). */
    final class Plan {
        final ConvGeometry g;
        final cudnnTensorDescriptor x;
        final cudnnFilterDescriptor w;
        final cudnnConvolutionDescriptor conv;
        final cudnnTensorDescriptor y;
        Algorithm forward;
        Algorithm backwardData;
        Algorithm backwardFilter;

        Plan(ConvGeometry g) {
            this.g = g;
            x = descriptors.nchw(g.n(), g.c(), g.h(), g.w());
            y = descriptors.nchw(g.n(), g.k(), g.outH(), g.outW());
            w = new cudnnFilterDescriptor();
            checks.dnn(JCudnn.cudnnCreateFilterDescriptor(w), "cudnnCreateFilterDescriptor", g);
            checks.dnn(JCudnn.cudnnSetFilter4dDescriptor(w, cudnnDataType.CUDNN_DATA_FLOAT, cudnnTensorFormat.CUDNN_TENSOR_NCHW,
                    g.k(), g.c(), g.kernelH(), g.kernelW()), "cudnnSetFilter4dDescriptor", g);
            conv = new cudnnConvolutionDescriptor();
            checks.dnn(JCudnn.cudnnCreateConvolutionDescriptor(conv), "cudnnCreateConvolutionDescriptor", g);
            checks.dnn(JCudnn.cudnnSetConvolution2dDescriptor(conv, g.padH(), g.padW(), g.strideH(), g.strideW(), 1, 1,
                    cudnnConvolutionMode.CUDNN_CROSS_CORRELATION, cudnnDataType.CUDNN_DATA_FLOAT),
                    "cudnnSetConvolution2dDescriptor", g);
            checks.dnn(JCudnn.cudnnSetConvolutionMathType(conv, precision == Precision.TF32
                    ? cudnnMathType.CUDNN_DEFAULT_MATH : cudnnMathType.CUDNN_FMA_MATH), "cudnnSetConvolutionMathType", g);
            int[] n = new int[1], c = new int[1], h = new int[1], wd = new int[1];
            checks.dnn(JCudnn.cudnnGetConvolution2dForwardOutputDim(conv, x, w, n, c, h, wd),
                    "cudnnGetConvolution2dForwardOutputDim", g);
            if (n[0] != g.n() || c[0] != g.k() || h[0] != g.outH() || wd[0] != g.outW()) {
                throw new CudaException("cuDNN's output shape " + Arrays.toString(new int[] {n[0], c[0], h[0], wd[0]})
                        + " differs from Kiln's " + Arrays.toString(g.outputShape()) + " for " + g, "kiln", 0, false);
            }
        }

        void destroy() {
            JCudnn.cudnnDestroyFilterDescriptor(w);
            JCudnn.cudnnDestroyConvolutionDescriptor(conv);
        }
    }

    private final CudaChecks checks;
    private final TensorDescriptors descriptors;
    private final Precision precision;
    private final Map<ConvGeometry, Plan> plans = new HashMap<>();

    ConvolutionPlans(CudaChecks checks, TensorDescriptors descriptors, Precision precision) {
        this.checks = checks;
        this.descriptors = descriptors;
        this.precision = precision;
    }

    Plan plan(ConvGeometry g) {
        Plan p = plans.get(g);
        if (p == null) {
            p = new Plan(g);
            plans.put(g, p);
        }
        return p;
    }

    /** Destroys the plans' descriptors (for close; the tensor descriptors are the cache's). */
    void destroy() {
        for (Plan p : plans.values()) {
            p.destroy();
        }
        plans.clear();
    }
}
