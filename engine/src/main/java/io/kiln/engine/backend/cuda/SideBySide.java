package io.kiln.engine.backend.cuda;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * How {@link GpuCheck} compares a device backend with the CPU reference: tensors made on both from the same
 * seeded random data ({@link Both}), an operation run on both with the same arguments ({@link #both}), and
 * {@link #check}, which compares every output element, |device - cpu| &lt;= atol + rtol * |cpu|, and records a
 * {@link GpuCheck.Result} naming the worst element. A NaN on one side only is a failure; an exception fails
 * the check alone, except a fatal CUDA error, which ends the run.
 */
abstract class SideBySide {
    final Backend dev;
    final Backend cpu;
    private final SplittableRandom rng = new SplittableRandom(20240611);
    private final List<GpuCheck.Result> results = new ArrayList<>();
    private final Consumer<GpuCheck.Result> listener;
    private final List<Tensor> open = new ArrayList<>();

    SideBySide(Backend dev, Backend cpu, Consumer<GpuCheck.Result> listener) {
        this.dev = dev;
        this.cpu = cpu;
        this.listener = listener;
    }

    /** The results so far, in the order the checks ran. */
    List<GpuCheck.Result> results() {
        return List.copyOf(results);
    }

    // ---- tensors on both backends ----------------------------------------------------------------------------

    final class Both {
        final Tensor c;
        final Tensor g;

        Both(float[] data, int... shape) {
            c = cpu.fromHost(data, shape);
            g = dev.fromHost(data, shape);
            open.add(c);
            open.add(g);
        }

        float[] cpuData() {
            return cpu.toHost(c);
        }

        float[] devData() {
            return dev.toHost(g);
        }

        Tensor on(Side side) {
            return side == Side.CPU ? c : g;
        }
    }

    /** Which of a {@link Both}'s tensors an operation takes: the CPU reference's or the device's. */
    enum Side { CPU, DEVICE }

    @FunctionalInterface
    interface Op {
        void run(Backend backend, Side side);
    }

    /**
     * Runs an operation on the CPU reference with its tensors, then on the device with its own: written once,
     * a check cannot give the two sides different arguments.
     */
    void both(Op op) {
        op.run(cpu, Side.CPU);
        op.run(dev, Side.DEVICE);
    }

    Both rand(int... shape) {
        return new Both(random(Tensor.sizeOf(shape), 1.0), shape);
    }

    Both of(float[] data, int... shape) {
        return new Both(data, shape);
    }

    Both zeros(int... shape) {
        return new Both(new float[Tensor.sizeOf(shape)], shape);
    }

    /**
     * What an operation left in tensors that are not a {@link Both}'s (a layer's own, one per backend): each
     * side's values, read back from its backend.
     */
    Both results(Tensor onCpu, Tensor onDevice) {
        Both b = of(cpu.toHost(onCpu), onCpu.shape());
        dev.upload(dev.toHost(onDevice), b.g);
        return b;
    }

    Both nans(int... shape) {
        float[] a = new float[Tensor.sizeOf(shape)];
        java.util.Arrays.fill(a, Float.NaN);
        return new Both(a, shape);
    }

    // ---- comparison ------------------------------------------------------------------------------------------

    @FunctionalInterface
    interface Body {
        Both[] run();
    }

    void check(String op, double atol, double rtol, Body body) {
        GpuCheck.Result r;
        try {
            Both[] outs = body.run();
            dev.synchronize();
            double worst = 0;
            String where = "";
            for (int o = 0; o < outs.length; o++) {
                float[] want = outs[o].cpuData(), got = outs[o].devData();
                for (int i = 0; i < want.length; i++) {
                    double diff = Math.abs((double) got[i] - want[i]);
                    double limit = atol + rtol * Math.abs(want[i]);
                    double ratio = Float.isNaN(got[i]) != Float.isNaN(want[i]) ? Double.POSITIVE_INFINITY
                            : Float.isNaN(want[i]) || diff == 0 ? 0 : diff / limit;
                    if (ratio > worst || Double.isNaN(ratio)) {
                        worst = Double.isNaN(ratio) ? Double.POSITIVE_INFINITY : ratio;
                        where = String.format(Locale.ROOT, " (output %d [%d]: device %s, cpu %s)", o, i, got[i], want[i]);
                    }
                }
            }
            boolean ok = worst <= 1.0;
            r = new GpuCheck.Result(op, ok, worst, String.format(Locale.ROOT, "worst %.3f of tolerance (atol %.0e, rtol %.0e)%s",
                    worst, atol, rtol, ok ? "" : where));
        } catch (RuntimeException e) {
            r = new GpuCheck.Result(op, false, Double.POSITIVE_INFINITY, e.getClass().getSimpleName() + ": " + e.getMessage());
            results.add(r);
            listener.accept(r);
            closeOpen();
            if (e instanceof CudaException ce && ce.fatal()) {
                throw ce;
            }
            return;
        }
        closeOpen();
        results.add(r);
        listener.accept(r);
    }

    void closeOpen() {
        for (Tensor t : open) {
            try {
                t.close();
            } catch (RuntimeException ignored) {
                // best effort
            }
        }
        open.clear();
    }

    // ---- random data ---------------------------------------------------------------------------------------------

    float[] random(int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) ((rng.nextDouble() * 2 - 1) * scale);
        }
        return a;
    }

    /** Values from a small set, so that max pooling meets ties (and ReLU-like zeros). */
    float[] coarse(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = rng.nextInt(4) == 0 ? 0f : rng.nextInt(-3, 4) * 0.5f;
        }
        return a;
    }

    float[] positive(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (0.5 + rng.nextDouble());
        }
        return a;
    }

    float[] labels(int n, int classes) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = rng.nextInt(classes);
        }
        return a;
    }
}
