package io.kiln.engine.backend.cuda;

import static io.kiln.engine.backend.cuda.CudnnScalars.ONE;
import static io.kiln.engine.backend.cuda.CudnnScalars.ZERO;

import io.kiln.engine.backend.ArgumentChecks.Channels;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import jcuda.Pointer;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnBatchNormMode;
import jcuda.jcudnn.cudnnTensorDescriptor;

/**
 * Batch normalisation on cuDNN in spatial mode: x {@code [n, c, spatial...]} is described as
 * {@code [n, c, spatial, 1]}, statistics per channel. Arguments are checked by the backend.
 */
final class CudnnBatchNorm {
    private final CudaContext context;
    private final CudaChecks checks;
    private final TensorDescriptors descriptors;
    private final Map<List<Integer>, cudnnTensorDescriptor> paramDescs = new HashMap<>();
    /** The epsilon each saved 1/std was computed with: cuDNN's backward pass must be given the same. */
    private final Map<CudaTensor.Storage, Double> savedEps = new WeakHashMap<>();

    CudnnBatchNorm(CudaContext context, CudaChecks checks, TensorDescriptors descriptors) {
        this.context = context;
        this.checks = checks;
        this.descriptors = descriptors;
    }

    private cudnnTensorDescriptor xDesc(Channels s) {
        return descriptors.nchw(s.n(), s.c(), s.spatial(), 1);
    }

    private cudnnTensorDescriptor paramDesc(Channels s, cudnnTensorDescriptor xDesc) {
        List<Integer> key = List.of(s.n(), s.c(), s.spatial());
        cudnnTensorDescriptor d = paramDescs.get(key);
        if (d == null) {
            d = new cudnnTensorDescriptor();
            checks.dnn(JCudnn.cudnnCreateTensorDescriptor(d), "cudnnCreateTensorDescriptor", key);
            checks.dnn(JCudnn.cudnnDeriveBNTensorDescriptor(d, xDesc, cudnnBatchNormMode.CUDNN_BATCHNORM_SPATIAL),
                    "cudnnDeriveBNTensorDescriptor", key);
            paramDescs.put(key, d);
        }
        return d;
    }

    /** The float epsilon as the decimal the user wrote (1e-5f becomes 1e-5, not 9.99999974e-6). */
    private static double epsilon(float eps) {
        return Double.parseDouble(Float.toString(eps));
    }

    void forwardTraining(Channels s, CudaTensor x, CudaTensor gamma, CudaTensor beta, float eps, float momentum,
                         CudaTensor runningMean, CudaTensor runningVar, CudaTensor saveMean, CudaTensor saveInvStd,
                         CudaTensor y) {
        cudnnTensorDescriptor xDesc = xDesc(s);
        double e = epsilon(eps);
        savedEps.put(saveInvStd.storage, e);
        // one value per channel: null running statistics, which cuDNN then leaves alone (its unbiased variance
        // would divide by zero), as the CPU backend does
        boolean update = s.updatesRunningStatistics();
        Pointer rm = update ? runningMean.pointer() : null, rv = update ? runningVar.pointer() : null;
        checks.dnn(() -> JCudnn.cudnnBatchNormalizationForwardTraining(context.cudnn(),
                        cudnnBatchNormMode.CUDNN_BATCHNORM_SPATIAL, ONE, ZERO, xDesc, x.pointer(), xDesc, y.pointer(),
                        paramDesc(s, xDesc), gamma.pointer(), beta.pointer(), momentum, rm, rv, e, saveMean.pointer(),
                        saveInvStd.pointer()),
                "cudnnBatchNormalizationForwardTraining", s + " eps " + e + " momentum " + momentum);
    }

    void forwardInference(Channels s, CudaTensor x, CudaTensor gamma, CudaTensor beta, float eps,
                          CudaTensor runningMean, CudaTensor runningVar, CudaTensor y) {
        cudnnTensorDescriptor xDesc = xDesc(s);
        double e = epsilon(eps);
        checks.dnn(() -> JCudnn.cudnnBatchNormalizationForwardInference(context.cudnn(),
                        cudnnBatchNormMode.CUDNN_BATCHNORM_SPATIAL, ONE, ZERO, xDesc, x.pointer(), xDesc, y.pointer(),
                        paramDesc(s, xDesc), gamma.pointer(), beta.pointer(), runningMean.pointer(),
                        runningVar.pointer(), e),
                "cudnnBatchNormalizationForwardInference", s + " eps " + e);
    }

    void backward(Channels s, CudaTensor x, CudaTensor dy, CudaTensor gamma, CudaTensor saveMean, CudaTensor saveInvStd,
                  CudaTensor dx, CudaTensor dGamma, CudaTensor dBeta) {
        cudnnTensorDescriptor xDesc = xDesc(s);
        // cuDNN uses the saved statistics as given; epsilon must match the forward pass (it is validated)
        double e = savedEps.getOrDefault(saveInvStd.storage, 1e-5);
        checks.dnn(() -> JCudnn.cudnnBatchNormalizationBackward(context.cudnn(), cudnnBatchNormMode.CUDNN_BATCHNORM_SPATIAL,
                        ONE, ZERO, ONE, ZERO, xDesc, x.pointer(), xDesc, dy.pointer(), xDesc, dx.pointer(),
                        paramDesc(s, xDesc), gamma.pointer(), dGamma.pointer(), dBeta.pointer(), e, saveMean.pointer(),
                        saveInvStd.pointer()),
                "cudnnBatchNormalizationBackward", s + " eps " + e);
    }

    /** Destroys the parameter descriptors (for close; the others are the cache's). */
    void destroy() {
        for (cudnnTensorDescriptor d : paramDescs.values()) {
            JCudnn.cudnnDestroyTensorDescriptor(d);
        }
        paramDescs.clear();
    }
}
