package io.kiln.engine.backend.cuda;

import io.kiln.engine.backend.ConvGeometry;
import io.kiln.engine.backend.Precision;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnConvolutionDescriptor;
import jcuda.jcudnn.cudnnConvolutionMode;
import jcuda.jcudnn.cudnnDataType;
import jcuda.jcudnn.cudnnFilterDescriptor;
import jcuda.jcudnn.cudnnHandle;
import jcuda.jcudnn.cudnnMathType;
import jcuda.jcudnn.cudnnTensorDescriptor;
import jcuda.jcudnn.cudnnTensorFormat;

/**
 * How each convolution shape runs on cuDNN: its descriptors, made once, and for each direction (forward,
 * backward data, backward filter) the algorithm and workspace size, chosen on the direction's first use by
 * timing the candidates with cudnnFind*AlgorithmEx on the real tensors. The math type follows the
 * precision: FMA only in fp32 (no TF32 even on Ampere and newer), tensor cores allowed with TF32.
 */
final class ConvolutionPlans {
    /** The algorithm of one direction and the workspace it needs. */
    record Algorithm(int algo, long workspaceBytes) {
    }

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

    private final CudaContext context;
    private final CudaChecks checks;
    private final TensorDescriptors descriptors;
    private final CudnnWorkspace workspace;
    private final Precision precision;
    private final Map<ConvGeometry, Plan> plans = new HashMap<>();

    ConvolutionPlans(CudaContext context, CudaChecks checks, TensorDescriptors descriptors, CudnnWorkspace workspace,
                     Precision precision) {
        this.context = context;
        this.checks = checks;
        this.descriptors = descriptors;
        this.workspace = workspace;
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

    /**
     * The fastest algorithm of a direction that cudnnFind*Ex, timing the candidates on the real tensors with
     * a temporary workspace, reports working; algorithm 0 (IMPLICIT_GEMM forward, ALGO_0 backward), which
     * works for every shape, when none does.
     */
    <A, B, O, P> Algorithm choose(Direction<A, B, O, P> d, Plan p, A a, Pointer aData, B b, Pointer bData, O o,
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

    /** Destroys the plans' descriptors (for close; the tensor descriptors are the cache's). */
    void destroy() {
        for (Plan p : plans.values()) {
            p.destroy();
        }
        plans.clear();
    }
}
