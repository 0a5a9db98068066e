package io.kiln.engine.backend.cuda;

import static io.kiln.engine.backend.cuda.CudnnScalars.ONE;
import static io.kiln.engine.backend.cuda.CudnnScalars.ZERO;

import io.kiln.engine.backend.ConvGeometry;
import io.kiln.engine.backend.cuda.ConvolutionPlans.Algorithm;
import io.kiln.engine.backend.cuda.ConvolutionPlans.Plan;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnConvolutionBwdDataAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionBwdFilterAlgoPerf;
import jcuda.jcudnn.cudnnConvolutionDescriptor;
import jcuda.jcudnn.cudnnConvolutionFwdAlgoPerf;
import jcuda.jcudnn.cudnnFilterDescriptor;
import jcuda.jcudnn.cudnnHandle;
import jcuda.jcudnn.cudnnTensorDescriptor;

/**
 * The three convolution operations on cuDNN, each with the algorithm its {@link ConvolutionPlans plan} holds for
 * the shape (searched here on the direction's first use, by timing the candidates with cudnnFind*AlgorithmEx on
 * the real tensors) and the shared workspace. Arguments are checked by the backend.
 */
record CudnnConvolution(CudaContext context, CudaChecks checks, ConvolutionPlans plans, CudnnWorkspace workspace) {
    /**
     * One direction of a convolution as cuDNN spells it ({@code Forward}, {@code BackwardData},
     * {@code BackwardFilter}): the calls that count, search, size and run its algorithms. Every one of them
     * takes the operands in the same order, descriptor then data: two inputs A and B, then the output O
     * (forward: x, w to y; backward data: w, dy to dx; backward filter: x, dy to dw).
     *
     * @param <A> A's descriptor type
     * @param <B> B's descriptor type
     * @param <O> O's descriptor type
     * @param <P> the perf record cudnnFind*Ex fills
     */
    record Direction<A, B, O, P>(String name, MaxCount maxCount, Find<A, B, O, P> find, IntFunction<P[]> perfArray,
                                 Supplier<P> perfRecord, Function<P, Candidate> candidate,
                                 WorkspaceSize<A, B, O> workspaceSize, Run<A, B, O> run) {
    }

    /** A candidate of a search: cuDNN's status for it, the algorithm and its workspace. */
    record Candidate(int status, int algo, long memory) {
    }

    /** cudnnGetConvolution*AlgorithmMaxCount. */
    @FunctionalInterface
    interface MaxCount {
        int get(cudnnHandle handle, int[] count);
    }

    /** cudnnFindConvolution*AlgorithmEx. */
    @FunctionalInterface
    interface Find<A, B, O, P> {
        int find(cudnnHandle handle, A a, Pointer aData, B b, Pointer bData, cudnnConvolutionDescriptor conv, O o,
                 Pointer oData, int requested, int[] returned, P[] perf, Pointer workspace, long workspaceBytes);
    }

    /** cudnnGetConvolution*WorkspaceSize. */
    @FunctionalInterface
    interface WorkspaceSize<A, B, O> {
        int get(cudnnHandle handle, A a, B b, cudnnConvolutionDescriptor conv, O o, int algo, long[] bytes);
    }

    /** cudnnConvolution{Forward,BackwardData,BackwardFilter}: O = alpha op(A, B) + beta O. */
    @FunctionalInterface
    interface Run<A, B, O> {
        int run(cudnnHandle handle, Pointer alpha, A a, Pointer aData, B b, Pointer bData,
                cudnnConvolutionDescriptor conv, int algo, Pointer workspace, long workspaceBytes, Pointer beta, O o,
                Pointer oData);
    }

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
            p.forward = choose(FORWARD, p, p.x, x.pointer(), p.w, w.pointer(), p.y, y.pointer());
        }
        run(FORWARD, p, p.forward, p.x, x, p.w, w, p.y, y);
    }

    void backwardData(ConvGeometry g, CudaTensor w, CudaTensor dy, CudaTensor dx) {
        Plan p = plans.plan(g);
        if (p.backwardData == null) {
            p.backwardData = choose(BACKWARD_DATA, p, p.w, w.pointer(), p.y, dy.pointer(), p.x, dx.pointer());
        }
        run(BACKWARD_DATA, p, p.backwardData, p.w, w, p.y, dy, p.x, dx);
    }

    void backwardFilter(ConvGeometry g, CudaTensor x, CudaTensor dy, CudaTensor dw) {
        Plan p = plans.plan(g);
        if (p.backwardFilter == null) {
            p.backwardFilter = choose(BACKWARD_FILTER, p, p.x, x.pointer(), p.y, dy.pointer(), p.w, dw.pointer());
        }
        run(BACKWARD_FILTER, p, p.backwardFilter, p.x, x, p.y, dy, p.w, dw);
    }

    /**
     * The fastest algorithm of a direction that cudnnFind*Ex, timing the candidates on the real tensors with
     * a temporary workspace, reports working; algorithm 0 (IMPLICIT_GEMM forward, ALGO_0 backward), which
     * works for every shape, when none does.
     */
    private <A, B, O, P> Algorithm choose(Direction<A, B, O, P> d, Plan p, A a, Pointer aData, B b, Pointer bData, O o,
                                          Pointer oData) {
        ConvGeometry g = p.g;
        cudnnHandle h = context.cudnn();
        int[] max = new int[1];
        checks.dnn(d.maxCount().get(h, max), "cudnnGetConvolution" + d.name() + "AlgorithmMaxCount", g);
        P[] perf = d.perfArray().apply(Math.max(1, max[0]));
        for (int i = 0; i < perf.length; i++) {
            perf[i] = d.perfRecord().get();
        }
        int[] returned = new int[1];
        long[] wsSize = new long[1];
        CUdeviceptr ws = workspace.forSearch(wsSize);
        try {
            checks.dnn(() -> d.find().find(h, a, aData, b, bData, p.conv, o, oData, perf.length, returned, perf, ws,
                    wsSize[0]), "cudnnFindConvolution" + d.name() + "AlgorithmEx", g);
        } finally {
            workspace.freeSearch(ws, wsSize[0]);
        }
        for (int i = 0; i < returned[0]; i++) {
            Candidate c = d.candidate().apply(perf[i]);
            if (c.status() == 0) {
                return new Algorithm(c.algo(), c.memory());
            }
        }
        long[] size = new long[1];
        checks.dnn(d.workspaceSize().get(h, a, b, p.conv, o, 0, size),
                "cudnnGetConvolution" + d.name() + "WorkspaceSize", g);
        return new Algorithm(0, size[0]);
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
