package io.kiln.engine.backend.cuda;

import static io.kiln.engine.backend.cuda.CudnnScalars.ONE;
import static io.kiln.engine.backend.cuda.CudnnScalars.ZERO;

import io.kiln.engine.backend.ConvGeometry;
import io.kiln.engine.backend.cuda.ConvolutionPlans.Algorithm;
import io.kiln.engine.backend.cuda.ConvolutionPlans.Candidate;
import io.kiln.engine.backend.cuda.ConvolutionPlans.Direction;
import io.kiln.engine.backend.cuda.ConvolutionPlans.Plan;
import jcuda.driver.CUdeviceptr;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnConvolutionBwdDataAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionBwdFilterAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionFwdAlgoPerf;
import jcuda.jcudnn.cudnnFilterDescriptor;
import jcuda.jcudnn.cudnnTensorDescriptor;

/**
 * The three convolution operations on cuDNN, each with the algorithm its {@link ConvolutionPlans plan} chose
 * for the shape (searched on first use) and the shared workspace. Arguments are checked by the backend.
 */
record CudnnConvolution(CudaContext context, CudaChecks checks, ConvolutionPlans plans, CudnnWorkspace workspace) {
    /** y = conv(x, w). */
    static final Direction<cudnnTensorDescriptor, cudnnFilterDescriptor, cudnnTensorDescriptor,
            cudnnConvolutionFwdAlgoPerf> FORWARD = new Direction<>("Forward",
            JCudnn::cudnnGetConvolutionForwardAlgorithmMaxCount, JCudnn::cudnnFindConvolutionForwardAlgorithmEx,
            cudnnConvolutionFwdAlgoPerf[]::new, cudnnConvolutionFwdAlgoPerf::new,
            q -> new Candidate(q.status, q.algo, q.memory),
            JCudnn::cudnnGetConvolutionForwardWorkspaceSize, JCudnn::cudnnConvolutionForward);

    /** dx from w and dy. */
    static final Direction<cudnnFilterDescriptor, cudnnTensorDescriptor, cudnnTensorDescriptor,
            cudnnConvolutionBwdDataAlgoPerf> BACKWARD_DATA = new Direction<>("BackwardData",
            JCudnn::cudnnGetConvolutionBackwardDataAlgorithmMaxCount, JCudnn::cudnnFindConvolutionBackwardDataAlgorithmEx,
            cudnnConvolutionBwdDataAlgoPerf[]::new, cudnnConvolutionBwdDataAlgoPerf::new,
            q -> new Candidate(q.status, q.algo, q.memory),
            JCudnn::cudnnGetConvolutionBackwardDataWorkspaceSize, JCudnn::cudnnConvolutionBackwardData);

    /** dw from x and dy. */
    static final Direction<cudnnTensorDescriptor, cudnnTensorDescriptor, cudnnFilterDescriptor,
            cudnnConvolutionBwdFilterAlgoPerf> BACKWARD_FILTER = new Direction<>("BackwardFilter",
            JCudnn::cudnnGetConvolutionBackwardFilterAlgorithmMaxCount,
            JCudnn::cudnnFindConvolutionBackwardFilterAlgorithmEx,
            cudnnConvolutionBwdFilterAlgoPerf[]::new, cudnnConvolutionBwdFilterAlgoPerf::new,
            q -> new Candidate(q.status, q.algo, q.memory),
            JCudnn::cudnnGetConvolutionBackwardFilterWorkspaceSize, JCudnn::cudnnConvolutionBackwardFilter);

    void forward(ConvGeometry g, CudaTensor x, CudaTensor w, CudaTensor y) {
        Plan p = plans.plan(g);
        if (p.forward == null) {
            p.forward = plans.choose(FORWARD, p, p.x, x.pointer(), p.w, w.pointer(), p.y, y.pointer());
        }
        run(FORWARD, p, p.forward, p.x, x, p.w, w, p.y, y);
    }

    void backwardData(ConvGeometry g, CudaTensor w, CudaTensor dy, CudaTensor dx) {
        Plan p = plans.plan(g);
        if (p.backwardData == null) {
            p.backwardData = plans.choose(BACKWARD_DATA, p, p.w, w.pointer(), p.y, dy.pointer(), p.x, dx.pointer());
        }
        run(BACKWARD_DATA, p, p.backwardData, p.w, w, p.y, dy, p.x, dx);
    }

    void backwardFilter(ConvGeometry g, CudaTensor x, CudaTensor dy, CudaTensor dw) {
        Plan p = plans.plan(g);
        if (p.backwardFilter == null) {
            p.backwardFilter = plans.choose(BACKWARD_FILTER, p, p.x, x.pointer(), p.y, dy.pointer(), p.w, dw.pointer());
        }
        run(BACKWARD_FILTER, p, p.backwardFilter, p.x, x, p.y, dy, p.w, dw);
    }

    /** o = op(a, b) with the chosen algorithm in the shared workspace (alpha 1, beta 0: o is overwritten). */
    private <A, B, O> void run(Direction<A, B, O, ?> d, Plan p, Algorithm alg, A a, CudaTensor aData, B b,
                               CudaTensor bData, O o, CudaTensor oData) {
        CUdeviceptr ws = workspace.atLeast(alg.workspaceBytes());
        checks.dnn(() -> d.run().run(context.cudnn(), ONE, a, aData.pointer(), b, bData.pointer(), p.conv,
                alg.algo(), ws, alg.workspaceBytes(), ZERO, o, oData.pointer()),
                "cudnnConvolution" + d.name(), p.g + " algo " + alg.algo());
    }
}
