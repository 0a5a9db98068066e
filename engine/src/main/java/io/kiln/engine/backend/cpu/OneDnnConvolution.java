package io.kiln.engine.backend.cpu;

import io.kiln.engine.backend.ConvGeometry;
import org.bytedeco.dnnl.IntMemoryMap;
import org.bytedeco.dnnl.convolution_backward_data;
import org.bytedeco.dnnl.convolution_backward_weights;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.engine;
import org.bytedeco.dnnl.global.dnnl;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.primitive;
import org.bytedeco.dnnl.stream;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Convolutions with many channels on oneDNN, the library PyTorch's CPU convolutions run on, through its JavaCPP
 * presets ({@code org.bytedeco:dnnl}), for the passes where it beat the Java paths ({@link #suits}). Measured in
 * one process, VGG11's layers alternating between the two (2 threads, the 2-core VM of {@code
 * docs/benchmarks.md}), oneDNN against the Java paths:
 * <ul>
 *   <li>filter gradients on 8x8 maps with 128 to 256 channels: 1.56 to 1.72x; on 4x4 maps: 1.06 to 1.23x;</li>
 *   <li>forward and data gradient on 4x4 maps: 1.11 to 1.30x; on 8x8 maps: 0.95 to 1.02x;</li>
 *   <li>all three on 2x2 maps: 0.23 to 0.39x ({@link SmallMapConvolution} holds 8 images to a vector there);</li>
 *   <li>ResNet20's 16 to 64 channels, one core: slower than {@link VectorConvolution}.</li>
 * </ul>
 *
 * <p>Tensors keep their plain layouts (nchw, oihw): the Java arrays are copied into native buffers as they are
 * and oneDNN runs its GEMM-based convolution on them, with no reorders into its blocked layouts, which cost as
 * much memory again (the blocked kernels were no faster here once the reorders were counted). The buffers are
 * shared by every layer and grow to the largest; the primitives are kept per geometry.
 *
 * <p>Loaded only when {@link #available}; oneDNN runs on its own OpenMP threads ({@code OMP_NUM_THREADS},
 * every core by default). Calls are serialised: the native buffers are shared.
 */
final class OneDnnConvolution implements AutoCloseable {
    /** Fewest input and output channels a convolution must have to run here. */
    static final int MIN_CHANNELS = Math.max(1, Integer.getInteger("kiln.cpu.onednnChannels", 128));
    /** Geometries whose primitives are kept (a model has a few dozen at most). */
    private static final int MAX_PLANS = 64;

    private engine cpu;
    private stream queue;
    private final Map<ConvGeometry, Plan> plans = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<ConvGeometry, Plan> eldest) {
            if (size() <= MAX_PLANS) {
                return false;
            }
            eldest.getValue().close();
            return true;
        }
    };
    private final java.util.Set<ConvGeometry> refused = new java.util.HashSet<>();
    private final NativeBuffer src = new NativeBuffer(), weights = new NativeBuffer(), dst = new NativeBuffer();
    private boolean closed;

    /** Loads the natives on first use only: a model without such layers never needs them. */
    private static final class Natives {
        static final String REASON = reason();
    }

    /** Whether oneDNN may be used: its natives load here and {@code -Dkiln.cpu.onednn=false} is not set. */
    static boolean available() {
        return Natives.REASON == null;
    }

    /** e.g. "oneDNN 3.6.1 for layers with at least 128 channels on 4x4 to 8x8 maps", or why not. */
    static String describe() {
        return available() ? "oneDNN " + version() + " for layers with at least " + MIN_CHANNELS
                + " channels on 4x4 to 8x8 maps" : "no oneDNN (" + Natives.REASON + ")";
    }

    /** The three passes of a convolution. */
    enum Pass { FORWARD, DATA_GRADIENT, FILTER_GRADIENT }

    /**
     * Whether a pass of g should run here: at least {@link #MIN_CHANNELS} channels in and out, and maps where
     * oneDNN was measured faster (see above): from 4x4 output pixels for the filter gradient, 4x4 up to under
     * 8x8 for the other two.
     */
    static boolean suits(ConvGeometry g, Pass pass) {
        int pixels = g.outH() * g.outW();
        return Math.min(g.c(), g.k()) >= MIN_CHANNELS && pixels >= 16 && (pass == Pass.FILTER_GRADIENT || pixels < 64);
    }

    private static String reason() {
        if (!Boolean.parseBoolean(System.getProperty("kiln.cpu.onednn", "true"))) {
            return "-Dkiln.cpu.onednn=false";
        }
        // JavaCPP refuses an allocation once the process's resident set passes 4x the heap limit, a rule of its
        // own that a worker with a small heap and a large data set could meet mid-run; Kiln's memory limits are
        // the heap and the job's estimate, so unless the user set one, that check is off (0)
        if (System.getProperty("org.bytedeco.javacpp.maxPhysicalBytes") == null
                && System.getProperty("org.bytedeco.javacpp.maxphysicalbytes") == null) {
            System.setProperty("org.bytedeco.javacpp.maxPhysicalBytes", "0");
        }
        try {
            org.bytedeco.javacpp.Loader.load(dnnl.class);
            return null;
        } catch (Throwable e) { // a missing native (another OS or architecture) or jar: the Java paths serve
            return e.getClass().getSimpleName() + ": " + e.getMessage();
        }
    }

    private static String version() {
        var v = dnnl.dnnl_version();
        return v.major() + "." + v.minor() + "." + v.patch();
    }

    /** y = conv(x, w). */
    synchronized void forward(ConvGeometry g, float[] x, float[] w, float[] y) {
        Plan p = plan(g);
        p.bind(src.put(x), weights.put(w), dst.reserve(y.length));
        run(g, p::forward, p.args(dnnl.DNNL_ARG_SRC, p.src, dnnl.DNNL_ARG_WEIGHTS, p.weights, dnnl.DNNL_ARG_DST, p.dst));
        dst.get(y);
    }

    /** dx = the gradient of conv(x, w) with respect to x, from dy. */
    synchronized void backwardData(ConvGeometry g, float[] w, float[] dy, float[] dx) {
        Plan p = plan(g);
        p.bind(src.reserve(dx.length), weights.put(w), dst.put(dy));
        run(g, p::backwardData, p.args(dnnl.DNNL_ARG_DIFF_DST, p.dst, dnnl.DNNL_ARG_WEIGHTS, p.weights,
                dnnl.DNNL_ARG_DIFF_SRC, p.src));
        src.get(dx);
    }

    /** dw = the gradient of conv(x, w) with respect to w, from x and dy. */
    synchronized void backwardFilter(ConvGeometry g, float[] x, float[] dy, float[] dw) {
        Plan p = plan(g);
        p.bind(src.put(x), weights.reserve(dw.length), dst.put(dy));
        run(g, p::backwardWeights, p.args(dnnl.DNNL_ARG_SRC, p.src, dnnl.DNNL_ARG_DIFF_DST, p.dst,
                dnnl.DNNL_ARG_DIFF_WEIGHTS, p.weights));
        weights.get(dw);
    }

    /**
     * Whether g can run here: its forward primitive is made now if it is not yet. oneDNN refuses what it cannot
     * do (an error then, not a crash), and such a geometry stays on the Java paths.
     */
    synchronized boolean accepts(ConvGeometry g) {
        if (refused.contains(g)) {
            return false;
        }
        try {
            plan(g);
            return true;
        } catch (RuntimeException e) {
            refused.add(g);
            return false;
        }
    }

    /** Geometries whose primitives are kept now (for tests). */
    synchronized int plansKept() {
        return plans.size();
    }

    /** Runs the pass (its primitive made on first use), saying which convolution failed if oneDNN fails. */
    private void run(ConvGeometry g, Supplier<primitive> op, IntMemoryMap args) {
        try (args) {
            op.get().execute(queue, args);
            queue._wait();
        } catch (RuntimeException e) {
            throw new IllegalStateException("oneDNN convolution " + g + " failed: " + e.getMessage(), e);
        }
    }

    private Plan plan(ConvGeometry g) {
        if (closed) {
            throw new IllegalStateException("the oneDNN convolutions are closed");
        }
        if (cpu == null) {
            cpu = new engine(engine.kind.cpu, 0);
            queue = new stream(cpu);
        }
        Plan p = plans.get(g);
        if (p == null) {
            p = new Plan(g);
            plans.put(g, p);
        }
        return p;
    }

    @Override
    public synchronized void close() {
        closed = true;
        plans.values().forEach(Plan::close);
        plans.clear();
        src.close();
        weights.close();
        dst.close();
        if (queue != null) {
            queue.close();
            cpu.close();
        }
    }

    /** One geometry's descriptors, primitives (made on first use) and memories over the shared buffers. */
    private final class Plan implements AutoCloseable {
        final ConvGeometry g;
        final memory.desc srcDesc, weightsDesc, dstDesc;
        final LongPointer strides, padLeft, padRight;
        final convolution_forward.primitive_desc forwardDesc;
        final memory src, weights, dst;
        convolution_forward forward;
        convolution_backward_data backwardData;
        convolution_backward_weights backwardWeights;

        Plan(ConvGeometry g) {
            this.g = g;
            srcDesc = desc(memory.format_tag.nchw, g.n(), g.c(), g.h(), g.w());
            weightsDesc = desc(memory.format_tag.oihw, g.k(), g.c(), g.kernelH(), g.kernelW());
            dstDesc = desc(memory.format_tag.nchw, g.n(), g.k(), g.outH(), g.outW());
            strides = new LongPointer(g.strideH(), g.strideW());
            padLeft = new LongPointer(g.padH(), g.padW());
            // the far side's padding that gives outH x outW (less than padH where the stride drops pixels)
            padRight = new LongPointer((long) (g.outH() - 1) * g.strideH() + g.kernelH() - g.h() - g.padH(),
                    (long) (g.outW() - 1) * g.strideW() + g.kernelW() - g.w() - g.padW());
            forwardDesc = new convolution_forward.primitive_desc(cpu, dnnl.prop_kind.forward_training,
                    dnnl.algorithm.convolution_direct, srcDesc, weightsDesc, new memory.desc(), dstDesc,
                    strides, padLeft, padRight);
            src = new memory(srcDesc, cpu, null);
            weights = new memory(weightsDesc, cpu, null);
            dst = new memory(dstDesc, cpu, null);
        }

        private static memory.desc desc(memory.format_tag tag, long... dims) {
            return new memory.desc(new LongPointer(dims), memory.data_type.f32, tag);
        }

        void bind(FloatPointer s, FloatPointer w, FloatPointer d) {
            src.set_data_handle(s);
            weights.set_data_handle(w);
            dst.set_data_handle(d);
        }

        IntMemoryMap args(int k0, memory m0, int k1, memory m1, int k2, memory m2) {
            IntMemoryMap args = new IntMemoryMap();
            args.put(k0, m0);
            args.put(k1, m1);
            args.put(k2, m2);
            return args;
        }

        convolution_forward forward() {
            return forward != null ? forward : (forward = new convolution_forward(forwardDesc));
        }

        convolution_backward_data backwardData() {
            if (backwardData == null) {
                backwardData = new convolution_backward_data(new convolution_backward_data.primitive_desc(cpu,
                        dnnl.algorithm.convolution_direct, srcDesc, weightsDesc, dstDesc, strides, padLeft, padRight,
                        forwardDesc));
            }
            return backwardData;
        }

        convolution_backward_weights backwardWeights() {
            if (backwardWeights == null) {
                backwardWeights = new convolution_backward_weights(new convolution_backward_weights.primitive_desc(
                        cpu, dnnl.algorithm.convolution_direct, srcDesc, weightsDesc, new memory.desc(), dstDesc,
                        strides, padLeft, padRight, forwardDesc));
            }
            return backwardWeights;
        }

        @Override
        public void close() {
            for (var p : new org.bytedeco.javacpp.Pointer[]{forward, backwardData, backwardWeights, forwardDesc,
                    src, weights, dst, srcDesc, weightsDesc, dstDesc, strides, padLeft, padRight}) {
                if (p != null) {
                    p.close();
                }
            }
        }
    }

    /** A native float buffer that grows to the largest request and is reused (contents undefined between uses). */
    private static final class NativeBuffer implements AutoCloseable {
        private FloatPointer data;
        private long capacity;

        FloatPointer reserve(long floats) {
            if (floats > capacity) {
                close();
                data = new FloatPointer(floats);
                capacity = floats;
            }
            return data;
        }

        FloatPointer put(float[] values) {
            FloatPointer p = reserve(values.length);
            p.position(0).put(values, 0, values.length);
            return p;
        }

        void get(float[] into) {
            data.position(0).get(into, 0, into.length);
        }

        @Override
        public void close() {
            if (data != null) {
                data.close();
                data = null;
                capacity = 0;
            }
        }
    }
}
