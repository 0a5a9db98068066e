package io.kiln.engine.backend.cuda;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.ConvGeometry;
import io.kiln.engine.backend.LossKind;
import io.kiln.engine.backend.PoolGeometry;
import io.kiln.engine.backend.PoolMode;
import io.kiln.engine.backend.Precision;
import io.kiln.engine.nn.Model;
import io.kiln.engine.nn.Param;
import io.kiln.engine.optim.Optimizer;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecParser;
import io.kiln.engine.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Runs every Backend operation, forward and backward, on random inputs on a device backend and on the CPU
 * reference, and compares the results: |device - cpu| &lt;= atol + rtol * |cpu| element by element.
 *
 * <p>Tolerances: elementwise operations, pooling, dropout and the optimizer updates are computed the same way
 * as on the CPU (Kiln's kernels are built with -fmad=false), so they get 1e-6; transcendental activations
 * 1e-5; reductions (bias gradient, softmax, losses, batch normalisation) 1e-4; matrix products and
 * convolutions by {@link ProductTolerance}: growing with the square root of the number of products summed and
 * the operands' sizes, from 1e-4 in fp32 and about 1e-3 sqrt(k) with TF32 (10 mantissa bits).
 */
public final class GpuCheck extends SideBySide {
    /** One compared operation. */
    public record Result(String op, boolean passed, double worst, String detail) {
        public String line() {
            return String.format(Locale.ROOT, "%-4s %-52s %s", passed ? "ok" : "FAIL", op, detail);
        }
    }

    private static final double EXACT = 1e-6;
    private static final double TRANSCENDENTAL = 1e-5;
    private static final double REDUCTION = 1e-4;
    /** The training steps', whose differences accumulate over layers and steps; TF32's products make them ten times larger. */
    private static final double TRAINING = 2e-3;
    private static final double TRAINING_TF32 = 3e-2;

    private final Precision precision;

    private GpuCheck(Backend dev, Backend cpu, Precision precision, Consumer<Result> listener) {
        super(dev, cpu, listener);
        this.precision = precision;
    }

    /** Runs all checks; each result is also passed to {@code listener} as soon as it is known. */
    public static List<Result> run(Backend device, Backend cpu, Precision precision, Consumer<Result> listener) {
        GpuCheck c = new GpuCheck(device, cpu, precision, listener);
        c.all();
        return c.results();
    }

    // ---- the checks ------------------------------------------------------------------------------------------

    private void all() {
        memory();
        gemms();
        convolutions();
        bias();
        pooling();
        pointwise();
        normalisation();
        losses();
        optimizers();
        new SequenceChecks(this).all();
        trainingSteps();
    }

    private void memory() {
        check("upload/download", 0, 0, () -> new Both[] {rand(3, 1000)});
        check("fill", 0, 0, () -> {
            Both t = rand(7, 13);
            both((be, side) -> be.fill(t.on(side), 0.25f));
            return new Both[] {t};
        });
        check("copy", 0, 0, () -> {
            Both a = rand(4097), b = zeros(4097);
            both((be, side) -> be.copy(a.on(side), b.on(side)));
            return new Both[] {b};
        });
    }

    private void gemms() {
        int[][] sizes = {{64, 48, 80}, {100, 10, 784}, {7, 1, 3}, {33, 65, 17}};
        for (int[] s : sizes) {
            int m = s[0], n = s[1], k = s[2];
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0, tb = (t & 2) != 0;
                for (float beta : new float[] {0f, 0.5f}) {
                    String op = String.format(Locale.ROOT, "gemm %s%s m=%d n=%d k=%d beta=%s", ta ? "T" : "N", tb ? "T" : "N",
                            m, n, k, beta);
                    // rand() is within [-1, 1]: |a| |b| |alpha| <= 1.5
                    ProductTolerance tol = ProductTolerance.of(precision, k, 1.5);
                    check(op, tol.atol(), tol.rtol(), () -> {
                        Both a = ta ? rand(k, m) : rand(m, k), b = tb ? rand(n, k) : rand(k, n);
                        Both c = beta == 0f ? nans(m, n) : rand(m, n);
                        both((be, side) -> be.gemm(ta, tb, m, n, k, 1.5f, a.on(side), b.on(side), beta, c.on(side)));
                        return new Both[] {c};
                    });
                }
            }
        }
    }

    private void convolutions() {
        ConvGeometry[] geos = {
            ConvGeometry.square(4, 3, 12, 12, 8, 3, 1, 1),
            ConvGeometry.square(3, 1, 28, 28, 6, 5, 1, 0),
            ConvGeometry.square(2, 8, 9, 9, 16, 3, 2, 1),
            ConvGeometry.square(5, 16, 6, 6, 4, 1, 1, 0),
            new ConvGeometry(2, 3, 10, 7, 5, 3, 2, 2, 1, 1, 0),
        };
        for (ConvGeometry g : geos) {
            String shape = "n=" + g.n() + " c=" + g.c() + " " + g.h() + "x" + g.w() + " k=" + g.k() + " "
                    + g.kernelH() + "x" + g.kernelW() + " s" + g.strideH() + "," + g.strideW() + " p" + g.padH() + "," + g.padW();
            // products summed per output element of each direction; rand() is within [-1, 1]
            ProductTolerance fwd = ProductTolerance.of(precision, (long) g.c() * g.kernelH() * g.kernelW(), 1);
            ProductTolerance data = ProductTolerance.of(precision, (long) g.k() * g.kernelH() * g.kernelW(), 1);
            ProductTolerance filter = ProductTolerance.of(precision, (long) g.n() * g.outH() * g.outW(), 1);
            check("conv2dForward " + shape, fwd.atol(), fwd.rtol(), () -> {
                Both x = rand(g.inputShape()), w = rand(g.filterShape()), y = nans(g.outputShape());
                both((be, side) -> be.conv2dForward(g, x.on(side), w.on(side), y.on(side)));
                return new Both[] {y};
            });
            check("conv2dBackwardData " + shape, data.atol(), data.rtol(), () -> {
                Both w = rand(g.filterShape()), dy = rand(g.outputShape()), dx = nans(g.inputShape());
                both((be, side) -> be.conv2dBackwardData(g, w.on(side), dy.on(side), dx.on(side)));
                return new Both[] {dx};
            });
            check("conv2dBackwardFilter " + shape, filter.atol(), filter.rtol(), () -> {
                Both x = rand(g.inputShape()), dy = rand(g.outputShape()), dw = nans(g.filterShape());
                both((be, side) -> be.conv2dBackwardFilter(g, x.on(side), dy.on(side), dw.on(side)));
                return new Both[] {dw};
            });
        }
    }

    private void bias() {
        for (int[] shape : new int[][] {{6, 5, 7, 3}, {100, 10}}) {
            String s = java.util.Arrays.toString(shape);
            check("addBias " + s, EXACT, EXACT, () -> {
                Both y = rand(shape), b = rand(shape[1]);
                both((be, side) -> be.addBias(y.on(side), b.on(side)));
                return new Both[] {y};
            });
            check("biasBackward " + s, REDUCTION, REDUCTION, () -> {
                Both dy = rand(shape), db = nans(shape[1]);
                both((be, side) -> be.biasBackward(dy.on(side), db.on(side)));
                return new Both[] {db};
            });
        }
    }

    private void pooling() {
        PoolGeometry[] geos = {
            PoolGeometry.square(2, 3, 8, 8, 2, 2, 0),
            PoolGeometry.square(2, 4, 9, 9, 3, 2, 1),
            new PoolGeometry(1, 2, 7, 10, 3, 2, 1, 3, 1, 0),
        };
        for (PoolMode mode : PoolMode.values()) {
            PoolGeometry g0 = geos[1];
            check("poolForward and poolBackward " + mode + " with NaNs in the input (propagated as on the CPU)", EXACT, EXACT, () -> {
                float[] data = coarse(Tensor.sizeOf(g0.inputShape()));
                for (int i = 5; i < data.length; i += 37) {
                    data[i] = Float.NaN;
                }
                Both x = of(data, g0.inputShape()), y = nans(g0.outputShape());
                both((be, side) -> be.poolForward(mode, g0, x.on(side), y.on(side)));
                Both dy = rand(g0.outputShape()), dx = nans(g0.inputShape());
                both((be, side) -> be.poolBackward(mode, g0, x.on(side), y.on(side), dy.on(side), dx.on(side)));
                return new Both[] {y, dx};
            });
            for (PoolGeometry g : geos) {
                String shape = mode + " n=" + g.n() + " c=" + g.c() + " " + g.h() + "x" + g.w() + " window " + g.windowH()
                        + "x" + g.windowW() + " s" + g.strideH() + "," + g.strideW() + " p" + g.padH() + "," + g.padW();
                check("poolForward " + shape, EXACT, EXACT, () -> {
                    Both x = of(coarse(Tensor.sizeOf(g.inputShape())), g.inputShape()), y = nans(g.outputShape());
                    both((be, side) -> be.poolForward(mode, g, x.on(side), y.on(side)));
                    return new Both[] {y};
                });
                check("poolBackward " + shape + " (with ties)", EXACT, EXACT, () -> {
                    Both x = of(coarse(Tensor.sizeOf(g.inputShape())), g.inputShape()), y = zeros(g.outputShape());
                    both((be, side) -> be.poolForward(mode, g, x.on(side), y.on(side)));
                    Both dy = rand(g.outputShape()), dx = nans(g.inputShape());
                    both((be, side) -> be.poolBackward(mode, g, x.on(side), y.on(side), dy.on(side), dx.on(side)));
                    return new Both[] {dx};
                });
            }
        }
    }

    private void pointwise() {
        int[] shape = {8, 3, 11, 13};
        for (Activation f : Activation.values()) {
            double tol = f == Activation.RELU ? EXACT : TRANSCENDENTAL;
            check("activationForward " + f, tol, tol, () -> {
                Both x = of(random(Tensor.sizeOf(shape), 4.0), shape), y = nans(shape);
                both((be, side) -> be.activationForward(f, x.on(side), y.on(side)));
                return new Both[] {y};
            });
            check("activationForward " + f + " in place", tol, tol, () -> {
                Both x = of(random(Tensor.sizeOf(shape), 4.0), shape);
                both((be, side) -> be.activationForward(f, x.on(side), x.on(side)));
                return new Both[] {x};
            });
            check("activationBackward " + f, tol, tol, () -> {
                Both x = of(random(Tensor.sizeOf(shape), 4.0), shape), y = zeros(shape);
                cpu.activationForward(f, x.c, y.c);
                dev.upload(cpu.toHost(y.c), y.g); // the same forward output on both sides
                Both dy = rand(shape), dx = nans(shape);
                both((be, side) -> be.activationBackward(f, y.on(side), dy.on(side), dx.on(side)));
                return new Both[] {dx};
            });
        }
        elementwise("add", Backend::add, shape, false);
        elementwise("add", Backend::add, shape, true);
        elementwise("multiply", Backend::multiply, shape, false);
        check("axpy", EXACT, EXACT, () -> {
            Both x = rand(shape), y = rand(shape);
            both((be, side) -> be.axpy(-0.75f, x.on(side), y.on(side)));
            return new Both[] {y};
        });
        check("scale", EXACT, EXACT, () -> {
            Both x = rand(shape);
            both((be, side) -> be.scale(x.on(side), 3.25f));
            return new Both[] {x};
        });
        for (float p : new float[] {0f, 0.3f, 0.5f}) {
            check("dropoutForward p=" + p + " (mask and output, bit for bit)", 0, 0, () -> {
                Both x = rand(shape), m = nans(shape), y = nans(shape);
                long seed = 0x5EEDL + (long) (p * 10);
                both((be, side) -> be.dropoutForward(x.on(side), p, seed, m.on(side), y.on(side)));
                return new Both[] {m, y};
            });
        }
    }

    @FunctionalInterface
    private interface Elementwise {
        void apply(Backend backend, Tensor a, Tensor b, Tensor out);
    }

    /** out = a (op) b into a fresh output, or in place into a. */
    private void elementwise(String op, Elementwise f, int[] shape, boolean inPlace) {
        check(op + (inPlace ? " in place" : ""), EXACT, EXACT, () -> {
            Both a = rand(shape), b = rand(shape), out = inPlace ? a : nans(shape);
            both((be, side) -> f.apply(be, a.on(side), b.on(side), out.on(side)));
            return new Both[] {out};
        });
    }

    private void normalisation() {
        for (int[] shape : new int[][] {{8, 6, 5, 5}, {32, 20}, {1, 20}}) {
            String s = java.util.Arrays.toString(shape);
            int c = shape[1];
            check("batchNormForwardTraining " + s + " (y, saved and running statistics)", REDUCTION, REDUCTION, () -> {
                Both x = of(random(Tensor.sizeOf(shape), 3.0), shape), gamma = rand(c), beta = rand(c);
                Both rm = rand(c), rv = of(positive(c), c), sm = nans(c), si = nans(c), y = nans(shape);
                both((be, side) -> be.batchNormForwardTraining(x.on(side), gamma.on(side), beta.on(side), 1e-5f, 0.1f,
                        rm.on(side), rv.on(side), sm.on(side), si.on(side), y.on(side)));
                return new Both[] {y, sm, si, rm, rv};
            });
            check("batchNormForwardInference " + s, REDUCTION, REDUCTION, () -> {
                Both x = rand(shape), gamma = rand(c), beta = rand(c), rm = rand(c), rv = of(positive(c), c), y = nans(shape);
                both((be, side) -> be.batchNormForwardInference(x.on(side), gamma.on(side), beta.on(side), 1e-5f,
                        rm.on(side), rv.on(side), y.on(side)));
                return new Both[] {y};
            });
            check("batchNormBackward " + s + " (dx, dGamma, dBeta)", REDUCTION, REDUCTION, () -> {
                Both x = of(random(Tensor.sizeOf(shape), 3.0), shape), gamma = rand(c), beta = rand(c);
                Both rm = zeros(c), rv = of(positive(c), c), sm = zeros(c), si = zeros(c), y = zeros(shape);
                both((be, side) -> be.batchNormForwardTraining(x.on(side), gamma.on(side), beta.on(side), 1e-5f, 0.1f,
                        rm.on(side), rv.on(side), sm.on(side), si.on(side), y.on(side)));
                Both dy = rand(shape), dx = nans(shape), dg = nans(c), db = nans(c);
                both((be, side) -> be.batchNormBackward(x.on(side), dy.on(side), gamma.on(side), sm.on(side),
                        si.on(side), dx.on(side), dg.on(side), db.on(side)));
                return new Both[] {dx, dg, db};
            });
        }
    }

    private void losses() {
        check("softmax [50, 10]", REDUCTION, REDUCTION, () -> {
            Both s = of(random(500, 5.0), 50, 10), p = nans(50, 10);
            both((be, side) -> be.softmax(s.on(side), p.on(side)));
            return new Both[] {p};
        });
        int n = 300;
        for (LossKind kind : LossKind.values()) {
            for (int k : kind == LossKind.LOGISTIC ? new int[] {1} : kind == LossKind.MSE ? new int[] {10, 1} : new int[] {10, 3}) {
                int classes = kind == LossKind.LOGISTIC ? 2 : k;
                String op = "loss " + kind + " n=" + n + " k=" + k + " (gradient, stats accumulated into slot 1)";
                check(op, REDUCTION, REDUCTION, () -> {
                    Both out = of(random(n * k, 3.0), n, k);
                    Both y = kind == LossKind.MSE && k == 1 ? of(coarse(n), n) : of(labels(n, classes), n);
                    Both grad = nans(n, k);
                    Both stats = of(new float[] {7f, 8f, 1.5f, 2f, 9f, 9f}, 6);
                    both((be, side) -> be.loss(kind, out.on(side), y.on(side), grad.on(side), stats.on(side), 1));
                    return new Both[] {grad, stats};
                });
            }
            check("loss " + kind + " evaluation (no gradient)", REDUCTION, REDUCTION, () -> {
                int k = kind == LossKind.LOGISTIC ? 1 : 10;
                Both out = of(random(64 * k, 3.0), 64, k), y = of(labels(64, kind == LossKind.LOGISTIC ? 2 : k), 64);
                Both stats = zeros(2);
                both((be, side) -> be.loss(kind, out.on(side), y.on(side), null, stats.on(side), 0));
                return new Both[] {stats};
            });
        }
    }

    private void optimizers() {
        int n = 5000;
        for (int v0 = 0; v0 < 3; v0++) {
            int variant = v0;
            boolean nesterov = variant == 2;
            float momentum = variant == 0 ? 0f : 0.9f;
            String op = "sgdUpdate " + (variant == 0 ? "plain" : nesterov ? "nesterov" : "momentum") + " (3 steps, wd 1e-4)";
            check(op, EXACT, EXACT, () -> {
                Both w = rand(n), v = variant == 0 ? null : zeros(n);
                for (int step = 0; step < 3; step++) {
                    Both g = rand(n);
                    both((be, side) -> be.sgdUpdate(w.on(side), g.on(side), v == null ? null : v.on(side), 0.05f,
                            momentum, nesterov, 1e-4f));
                }
                return v == null ? new Both[] {w} : new Both[] {w, v};
            });
        }
        check("rmspropUpdate (3 steps, wd 1e-4)", EXACT, EXACT, () -> {
            Both w = rand(n), s = zeros(n);
            for (int step = 0; step < 3; step++) {
                Both g = rand(n);
                both((be, side) -> be.rmspropUpdate(w.on(side), g.on(side), s.on(side), 0.01f, 0.99f, 1e-8f, 1e-4f));
            }
            return new Both[] {w, s};
        });
        check("adamUpdate (3 steps, wd 1e-4)", EXACT, EXACT, () -> {
            Both w = rand(n), m = zeros(n), v = zeros(n);
            for (int t = 1; t <= 3; t++) {
                Both g = rand(n);
                long step = t;
                both((be, side) -> be.adamUpdate(w.on(side), g.on(side), m.on(side), v.on(side), 0.001f, 0.9f, 0.999f,
                        1e-8f, 1e-4f, step));
            }
            return new Both[] {w, m, v};
        });
    }

    /**
     * Small networks trained for three steps on both backends from the same initial weights, then evaluated: the
     * layers' plumbing end to end (views, shapes, scratch tensors, the input gradients the layers share,
     * activations written over their input). The first has every plain layer type (conv, batch norm, ReLU, max
     * pool, sigmoid, average pool, dense, dropout, tanh); the second two residual blocks (an identity and a
     * projection shortcut) with ReLU in place after a batch norm, each block and a dense layer, and a smaller last
     * batch (new convolution plans and gradient tensors in the middle of a run, as at the end of an epoch); then
     * the recurrent layers through time ({@link SequenceChecks#recurrentLayers}). SGD with momentum, not Adam:
     * Adam's first steps are lr times the sign of each gradient, so a gradient that is zero but for rounding
     * became +lr on one backend and -lr on the other; for the same reason no convolution before batch norm has a
     * bias. Looser tolerance: differences accumulate over the steps, ten times more with TF32's products.
     */
    private void trainingSteps() {
        trainingSteps("conv/bn/relu/maxpool/sigmoid/avgpool/dense/dropout/tanh, sgd nesterov x3", """
                [{"type": "conv2d", "filters": 6, "kernel": 3, "padding": 1, "bias": false}, {"type": "batchnorm"},
                 {"type": "relu"}, {"type": "maxpool2d", "size": 2},
                 {"type": "conv2d", "filters": 4, "kernel": 3}, {"type": "sigmoid"}, {"type": "avgpool2d", "size": 2},
                 {"type": "flatten"}, {"type": "dense", "units": 16}, {"type": "dropout", "rate": 0.25},
                 {"type": "tanh"}, {"type": "dense", "units": 5}]""",
                "{\"type\": \"sgd\", \"lr\": 0.01, \"momentum\": 0.9, \"nesterov\": true, \"weightDecay\": 0.001}", new int[] {2, 12, 12}, new int[] {8, 8, 8});
        trainingSteps("residual blocks, relu in place, sgd momentum x3, last batch smaller", """
                [{"type": "conv2d", "filters": 4, "kernel": 3, "padding": 1, "bias": false}, {"type": "batchnorm"},
                 {"type": "relu"},
                 {"type": "residual", "layers": [
                   {"type": "conv2d", "filters": 4, "kernel": 3, "padding": 1, "bias": false}, {"type": "batchnorm"},
                   {"type": "relu"}, {"type": "conv2d", "filters": 4, "kernel": 3, "padding": 1, "bias": false},
                   {"type": "batchnorm"}]},
                 {"type": "relu"},
                 {"type": "residual", "layers": [
                   {"type": "conv2d", "filters": 6, "kernel": 3, "stride": 2, "padding": 1}, {"type": "relu"},
                   {"type": "conv2d", "filters": 6, "kernel": 3, "padding": 1}],
                  "shortcut": [{"type": "conv2d", "filters": 6, "kernel": 1, "stride": 2, "bias": false},
                               {"type": "batchnorm"}]},
                 {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 12}, {"type": "relu"},
                 {"type": "dense", "units": 5}]""",
                "{\"type\": \"sgd\", \"lr\": 0.01, \"momentum\": 0.9}", new int[] {3, 8, 8}, new int[] {8, 8, 5});
        new SequenceChecks(this).recurrentLayers(trainingTolerance());
    }

    private double trainingTolerance() {
        return precision == Precision.TF32 ? TRAINING_TF32 : TRAINING;
    }

    /** One network of {@link #trainingSteps()}: a training step per batch size, then an evaluation of the first. */
    private void trainingSteps(String what, String layers, String optimizer, int[] input, int[] batches) {
        String spec = "{\"name\": \"gpu-check\", \"data\": {\"name\": \"none\"}, \"model\": {\"input\": "
                + java.util.Arrays.toString(input) + ", \"layers\": " + layers + "}, \"loss\": \"softmax_cross_entropy\", "
                + "\"optimizer\": " + optimizer + ", \"training\": {\"epochs\": 1, \"batchSize\": " + batches[0]
                + ", \"seed\": 3}}";
        double tol = trainingTolerance();
        check("training steps: " + what, tol, tol, () -> {
            JobSpec job = SpecParser.parse(spec);
            int classes = 5;
            Both stats = zeros(2);
            List<Both> outs = new ArrayList<>();
            try (Model mc = new Model(cpu, job.model().layers(), input, 3);
                 Model mg = new Model(dev, job.model().layers(), input, 3)) {
                Optimizer oc = new Optimizer(cpu, job.optimizer()), og = new Optimizer(dev, job.optimizer());
                oc.initState(mc.params());
                og.initState(mg.params());
                float lr = (float) job.optimizer().lr();
                for (int batch : batches) {
                    Both x = of(random(batch * Tensor.sizeOf(input), 1.0), Tensor.batchShape(batch, input));
                    Both y = of(labels(batch, classes), batch), grad = zeros(batch, classes);
                    Tensor outC = mc.forward(x.c, true), outG = mg.forward(x.g, true);
                    cpu.loss(LossKind.SOFTMAX_CROSS_ENTROPY, outC, y.c, grad.c, stats.c, 0);
                    dev.loss(LossKind.SOFTMAX_CROSS_ENTROPY, outG, y.g, grad.g, stats.g, 0);
                    mc.backward(grad.c);
                    mg.backward(grad.g);
                    oc.step(mc.params(), lr);
                    og.step(mg.params(), lr);
                }
                List<Param> pc = mc.params(), pg = mg.params();
                for (int i = 0; i < pc.size(); i++) {
                    outs.add(results(pc.get(i).value(), pg.get(i).value()));
                }
                Both x = of(random(batches[0] * Tensor.sizeOf(input), 1.0), Tensor.batchShape(batches[0], input));
                outs.add(results(mc.forward(x.c, false), mg.forward(x.g, false)));
            }
            outs.add(stats);
            return outs.toArray(new Both[0]);
        });
    }
}
