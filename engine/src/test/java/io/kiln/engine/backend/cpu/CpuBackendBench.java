package io.kiln.engine.backend.cpu;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.ConvGeometry;
import io.kiln.engine.backend.LossKind;
import io.kiln.engine.backend.PoolGeometry;
import io.kiln.engine.backend.PoolMode;
import io.kiln.engine.tensor.Tensor;

import java.util.Locale;
import java.util.Random;

/**
 * Throughput of the CPU backend: GEMM shapes, the two convolutions of the small MNIST CNN, and whole
 * training steps of the MLP and the CNN. Not a test; run with
 * {@code java -cp engine/target/classes:engine/target/test-classes io.kiln.engine.backend.cpu.CpuBackendBench [threads] [section...]}
 * where a section is {@code gemm}, {@code conv}, {@code mlp}, {@code cnn} or {@code cnnops} (the CNN step op by
 * op) (default: all but cnnops).
 */
public final class CpuBackendBench {
    private CpuBackendBench() {
    }

    /**
     * Seconds per call of body: after warming up, the fastest of several timed batches of calls. The machine
     * is shared, so the minimum (the batch least disturbed by other processes) is the steadiest figure.
     */
    static double time(Runnable body, double seconds) {
        long warmEnd = System.nanoTime() + (long) (seconds * 0.3e9);
        int warm = 0;
        while (System.nanoTime() < warmEnd || warm < 3) {
            body.run();
            warm++;
        }
        long t0 = System.nanoTime();
        body.run();
        double once = Math.max((System.nanoTime() - t0) / 1e9, 1e-7);
        int reps = 10;
        int inner = (int) Math.max(1, seconds * 0.7 / reps / once);
        double best = Double.MAX_VALUE;
        for (int r = 0; r < reps; r++) {
            long s = System.nanoTime();
            for (int i = 0; i < inner; i++) {
                body.run();
            }
            best = Math.min(best, (System.nanoTime() - s) / 1e9 / inner);
        }
        return best;
    }

    static Tensor rand(CpuBackend be, Random r, int... shape) {
        Tensor t = be.allocate(shape);
        float[] d = ((CpuTensor) t).data();
        for (int i = 0; i < d.length; i++) {
            d[i] = (float) (r.nextGaussian() * 0.1);
        }
        return t;
    }

    static void gemm(CpuBackend be, String label, boolean ta, boolean tb, int m, int n, int k) {
        Random r = new Random(1);
        Tensor a = rand(be, r, m * k), b = rand(be, r, k * n), c = be.allocate(m * n);
        double s = time(() -> be.gemm(ta, tb, m, n, k, 1f, a, b, 0f, c), 1.5);
        System.out.printf(Locale.ROOT, "gemm %-22s m=%4d n=%4d k=%4d %s%s  %8.3f ms  %6.2f GFLOP/s%n", label, m, n, k,
                ta ? "T" : "N", tb ? "T" : "N", s * 1e3, 2.0 * m * n * k / s / 1e9);
    }

    static void conv(CpuBackend be, String label, ConvGeometry g) {
        Random r = new Random(2);
        Tensor x = rand(be, r, g.inputShape()), w = rand(be, r, g.filterShape()), y = be.allocate(g.outputShape());
        Tensor dy = rand(be, r, g.outputShape()), dx = be.allocate(g.inputShape()), dw = be.allocate(g.filterShape());
        double flop = 2.0 * g.macs();
        double f = time(() -> be.conv2dForward(g, x, w, y), 1.5);
        double bd = time(() -> be.conv2dBackwardData(g, w, dy, dx), 1.5);
        double bf = time(() -> be.conv2dBackwardFilter(g, x, dy, dw), 1.5);
        System.out.printf(Locale.ROOT, "conv %-8s forward %7.2f ms %6.2f GFLOP/s | backward data %7.2f ms %6.2f GFLOP/s"
                + " | backward filter %7.2f ms %6.2f GFLOP/s%n", label, f * 1e3, flop / f / 1e9, bd * 1e3, flop / bd / 1e9,
                bf * 1e3, flop / bf / 1e9);
    }

    /** A dense layer's tensors. */
    record Dense(Tensor w, Tensor b, Tensor dw, Tensor db, Tensor vw, Tensor vb, int in, int out) {
        static Dense of(CpuBackend be, Random r, int in, int out) {
            return new Dense(rand(be, r, out, in), be.allocate(out), be.allocate(out, in), be.allocate(out),
                    be.allocate(out, in), be.allocate(out), in, out);
        }

        void forward(CpuBackend be, int batch, Tensor x, Tensor y) {
            be.gemm(false, true, batch, out, in, 1f, x, w, 0f, y);
            be.addBias(y, b);
        }

        void backward(CpuBackend be, int batch, Tensor x, Tensor dy, Tensor dx) {
            be.gemm(true, false, out, in, batch, 1f, dy, x, 0f, dw);
            be.biasBackward(dy, db);
            if (dx != null) {
                be.gemm(false, false, batch, in, out, 1f, dy, w, 0f, dx);
            }
        }

        void update(CpuBackend be) {
            be.sgdUpdate(w, dw, vw, 0.01f, 0.9f, false, 0f);
            be.sgdUpdate(b, db, vb, 0.01f, 0.9f, false, 0f);
        }
    }

    static Tensor labels(CpuBackend be, Random r, int batch) {
        float[] l = new float[batch];
        for (int i = 0; i < batch; i++) {
            l[i] = r.nextInt(10);
        }
        return be.fromHost(l, batch);
    }

    static void mlp(CpuBackend be) {
        int batch = 100;
        Random r = new Random(3);
        Dense l1 = Dense.of(be, r, 784, 100), l2 = Dense.of(be, r, 100, 10);
        Tensor x = rand(be, r, batch, 784), h = be.allocate(batch, 100), o = be.allocate(batch, 10);
        Tensor dout = be.allocate(batch, 10), dh = be.allocate(batch, 100), lab = labels(be, r, batch);
        Tensor stats = be.allocate(2);
        Runnable step = () -> {
            l1.forward(be, batch, x, h);
            be.activationForward(Activation.RELU, h, h);
            l2.forward(be, batch, h, o);
            be.loss(LossKind.SOFTMAX_CROSS_ENTROPY, o, lab, dout, stats, 0);
            l2.backward(be, batch, h, dout, dh);
            be.activationBackward(Activation.RELU, h, dh, dh);
            l1.backward(be, batch, x, dh, null);
            l2.update(be);
            l1.update(be);
        };
        double s = time(step, 3);
        double flop = 2.0 * batch * (784 * 100 * 2 + 100 * 10 * 3);
        System.out.printf(Locale.ROOT, "mlp 784-100-10 batch %d: %.3f ms/step, %.0f samples/s, epoch of 54000 = %.2f s,"
                + " %.2f GFLOP/s%n", batch, s * 1e3, batch / s, 54000 / batch * s, flop / s / 1e9);
    }

    record Op(String name, Runnable body) {
    }

    static void cnn(CpuBackend be, boolean perOp) {
        int batch = 100;
        Random r = new Random(4);
        ConvGeometry c1 = ConvGeometry.square(batch, 1, 28, 28, 32, 3, 1, 0);
        ConvGeometry c2 = ConvGeometry.square(batch, 32, 26, 26, 64, 3, 1, 0);
        PoolGeometry p = PoolGeometry.square(batch, 64, 24, 24, 2, 2, 0);
        Tensor x = rand(be, r, c1.inputShape());
        Tensor w1 = rand(be, r, c1.filterShape()), b1 = be.allocate(32), dw1 = be.allocate(c1.filterShape()), db1 = be.allocate(32);
        Tensor w2 = rand(be, r, c2.filterShape()), b2 = be.allocate(64), dw2 = be.allocate(c2.filterShape()), db2 = be.allocate(64);
        Tensor v1 = be.allocate(c1.filterShape()), vb1 = be.allocate(32), v2 = be.allocate(c2.filterShape()), vb2 = be.allocate(64);
        Tensor a1 = be.allocate(c1.outputShape()), a2 = be.allocate(c2.outputShape()), pooled = be.allocate(p.outputShape());
        Tensor da1 = be.allocate(c1.outputShape()), da2 = be.allocate(c2.outputShape()), dpooled = be.allocate(p.outputShape());
        Dense d1 = Dense.of(be, r, 9216, 128), d2 = Dense.of(be, r, 128, 10);
        Tensor h = be.allocate(batch, 128), o = be.allocate(batch, 10), dout = be.allocate(batch, 10), dh = be.allocate(batch, 128);
        Tensor lab = labels(be, r, batch), stats = be.allocate(2);
        Tensor flat = pooled.reshape(batch, 9216), dflat = dpooled.reshape(batch, 9216);
        java.util.List<Op> ops = java.util.List.of(
                new Op("conv1 forward", () -> be.conv2dForward(c1, x, w1, a1)),
                new Op("conv1 bias+relu", () -> {
                    be.addBias(a1, b1);
                    be.activationForward(Activation.RELU, a1, a1);
                }),
                new Op("conv2 forward", () -> be.conv2dForward(c2, a1, w2, a2)),
                new Op("conv2 bias+relu", () -> {
                    be.addBias(a2, b2);
                    be.activationForward(Activation.RELU, a2, a2);
                }),
                new Op("maxpool forward", () -> be.poolForward(PoolMode.MAX, p, a2, pooled)),
                new Op("dense layers forward+loss", () -> {
                    d1.forward(be, batch, flat, h);
                    be.activationForward(Activation.RELU, h, h);
                    d2.forward(be, batch, h, o);
                    be.loss(LossKind.SOFTMAX_CROSS_ENTROPY, o, lab, dout, stats, 0);
                }),
                new Op("dense layers backward", () -> {
                    d2.backward(be, batch, h, dout, dh);
                    be.activationBackward(Activation.RELU, h, dh, dh);
                    d1.backward(be, batch, flat, dh, dflat);
                }),
                new Op("maxpool backward", () -> be.poolBackward(PoolMode.MAX, p, a2, pooled, dpooled, da2)),
                new Op("conv2 relu+bias backward", () -> {
                    be.activationBackward(Activation.RELU, a2, da2, da2);
                    be.biasBackward(da2, db2);
                }),
                new Op("conv2 backward filter", () -> be.conv2dBackwardFilter(c2, a1, da2, dw2)),
                new Op("conv2 backward data", () -> be.conv2dBackwardData(c2, w2, da2, da1)),
                new Op("conv1 relu+bias backward", () -> {
                    be.activationBackward(Activation.RELU, a1, da1, da1);
                    be.biasBackward(da1, db1);
                }),
                new Op("conv1 backward filter", () -> be.conv2dBackwardFilter(c1, x, da1, dw1)),
                new Op("sgd updates", () -> {
                    be.sgdUpdate(w1, dw1, v1, 0.01f, 0.9f, false, 0f);
                    be.sgdUpdate(b1, db1, vb1, 0.01f, 0.9f, false, 0f);
                    be.sgdUpdate(w2, dw2, v2, 0.01f, 0.9f, false, 0f);
                    be.sgdUpdate(b2, db2, vb2, 0.01f, 0.9f, false, 0f);
                    d1.update(be);
                    d2.update(be);
                }));
        Runnable step = () -> {
            for (Op op : ops) {
                op.body().run();
            }
        };
        double s = time(step, 6);
        // forward MACs, times 3 for a training step (the first convolution needs no input gradient)
        double fwd = c1.macs() + c2.macs() + (double) batch * (9216 * 128 + 128 * 10);
        double flop = 2.0 * (3 * fwd - c1.macs());
        System.out.printf(Locale.ROOT, "cnn conv32-conv64-pool-128-10 batch %d: %.1f ms/step, %.0f img/s, %.1f MFLOP/img,"
                + " %.2f GFLOP/s, epoch of 54000 = %.1f s%n", batch, s * 1e3, batch / s, flop / batch / 1e6, flop / s / 1e9,
                54000 / batch * s);
        if (perOp) {
            double sum = 0;
            for (Op op : ops) {
                double t = time(op.body(), 1);
                sum += t;
                System.out.printf(Locale.ROOT, "  %-28s %8.2f ms%n", op.name(), t * 1e3);
            }
            System.out.printf(Locale.ROOT, "  %-28s %8.2f ms%n", "sum of the parts", sum * 1e3);
        }
    }

    public static void main(String[] args) {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : Runtime.getRuntime().availableProcessors();
        java.util.Set<String> sections = new java.util.HashSet<>();
        for (int i = 1; i < args.length; i++) {
            sections.add(args[i]);
        }
        boolean all = sections.isEmpty();
        try (CpuBackend be = new CpuBackend(threads)) {
            System.out.println(be.name() + ", " + System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
            if (all || sections.contains("gemm")) {
                gemm(be, "dense fwd x*W^T", false, true, 100, 100, 784);
                gemm(be, "dense dW = dy^T*x", true, false, 100, 784, 100);
                gemm(be, "dense dx = dy*W", false, false, 100, 784, 100);
                gemm(be, "784x100x100", false, false, 784, 100, 100);
                gemm(be, "conv2 fwd per image", false, false, 64, 576, 288);
                gemm(be, "square", false, false, 512, 512, 512);
                gemm(be, "square TT", true, true, 512, 512, 512);
            }
            if (all || sections.contains("conv")) {
                conv(be, "conv1", ConvGeometry.square(100, 1, 28, 28, 32, 3, 1, 0));
                conv(be, "conv2", ConvGeometry.square(100, 32, 26, 26, 64, 3, 1, 0));
            }
            if (all || sections.contains("mlp")) {
                mlp(be);
            }
            if (all || sections.contains("cnn") || sections.contains("cnnops")) {
                cnn(be, sections.contains("cnnops"));
            }
        }
    }
}
