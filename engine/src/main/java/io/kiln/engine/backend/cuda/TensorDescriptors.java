package io.kiln.engine.backend.cuda;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnDataType;
import jcuda.jcudnn.cudnnTensorDescriptor;
import jcuda.jcudnn.cudnnTensorFormat;

/**
 * cuDNN descriptors of float NCHW tensors, made once per shape and kept: a training loop asks for the same
 * few shapes every step (convolutions, batch normalisation, softmax).
 */
final class TensorDescriptors {
    private final CudaChecks checks;
    private final Map<List<Integer>, cudnnTensorDescriptor> descriptors = new HashMap<>();

    TensorDescriptors(CudaChecks checks) {
        this.checks = checks;
    }

    cudnnTensorDescriptor nchw(int n, int c, int h, int w) {
        List<Integer> key = List.of(n, c, h, w);
        cudnnTensorDescriptor d = descriptors.get(key);
        if (d == null) {
            d = new cudnnTensorDescriptor();
            checks.dnn(JCudnn.cudnnCreateTensorDescriptor(d), "cudnnCreateTensorDescriptor", key);
            checks.dnn(JCudnn.cudnnSetTensor4dDescriptor(d, cudnnTensorFormat.CUDNN_TENSOR_NCHW,
                    cudnnDataType.CUDNN_DATA_FLOAT, n, c, h, w), "cudnnSetTensor4dDescriptor", key);
            descriptors.put(key, d);
        }
        return d;
    }

    /** Destroys every descriptor (for close). */
    void destroy() {
        for (cudnnTensorDescriptor d : descriptors.values()) {
            JCudnn.cudnnDestroyTensorDescriptor(d);
        }
        descriptors.clear();
    }
}
