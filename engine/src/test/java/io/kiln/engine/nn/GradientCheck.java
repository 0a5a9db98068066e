package io.kiln.engine.nn;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.tensor.Tensor;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;

/**
 * Numerical gradient check of a layer: f(x, params) = sum(forward(x) * r) for a fixed random r, so that
 * backward(r) must return df/dx and set df/dparams. Each checked coordinate is compared with the central
 * difference (f(v + h) - f(v - h)) / 2h, computed in float32 by the backend and summed in double.
 *
 * <p>The error measure is |analytic - numeric| / max(|analytic| + |numeric|, floor), which is below the
 * tolerance the caller states; float32 central differences with h = 1e-2 keep about three correct digits on
 * smooth functions, so tests use tolerances of 1e-2 unless they say otherwise.
 */
public final class GradientCheck {
    static final double H = 1e-2;
    static final double FLOOR = 1e-3;
    /** Coordinates checked per tensor (all of them when smaller). */
    static final int SAMPLES = 40;

    private final Backend backend;
    private final SplittableRandom rng;

    GradientCheck(Backend backend, long seed) {
        this.backend = backend;
        this.rng = new SplittableRandom(seed);
    }

    /** Random values in [-1, 1) kept at least {@code margin} away from zero (away from ReLU's kink). */
    float[] random(int n, double margin) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            double u = rng.nextDouble() * 2 - 1;
            v[i] = (float) (Math.signum(u) * (margin + Math.abs(u) * (1 - margin)));
        }
        return v;
    }

    /** Runs the check; {@code beforeForward} restores any state a forward pass consumes (dropout's counter). */
    void check(Layer layer, int batch, double margin, double tol, Runnable beforeForward) {
        check(layer, batch, random(Tensor.sizeOf(shape(batch, layer.inputShape())), margin), tol, beforeForward);
    }

    /** As above with given inputs (max pooling needs inputs without near-ties). */
    void check(Layer layer, int batch, float[] xHost, double tol, Runnable beforeForward) {
        int[] in = shape(batch, layer.inputShape());
        int[] out = shape(batch, layer.outputShape());
        float[] r = random(Tensor.sizeOf(out), 0.1);
        try (Tensor x = backend.fromHost(xHost, in); Tensor dy = backend.fromHost(r, out)) {
            beforeForward.run();
            layer.forward(x, true);
            Tensor dx = layer.backward(dy);
            assertNotNull(dx, "layer returned no input gradient");
            float[] analyticX = backend.toHost(dx);
            compare("input", analyticX, xHost, x, layer, x, r, tol, beforeForward);
            for (Param p : layer.params()) {
                float[] analytic = backend.toHost(p.grad());
                float[] value = backend.toHost(p.value());
                compare(p.name(), analytic, value, p.value(), layer, x, r, tol, beforeForward);
            }
        }
    }

    private void compare(String what, float[] analytic, float[] values, Tensor target, Layer layer, Tensor x,
                         float[] r, double tol, Runnable beforeForward) {
        int n = values.length;
        int count = Math.min(n, SAMPLES);
        double worst = 0;
        for (int c = 0; c < count; c++) {
            int i = count == n ? c : rng.nextInt(n);
            double numeric = centralDifference(backend, target, values, i, H,
                    () -> objective(layer, x, r, beforeForward));
            double err = Math.abs(analytic[i] - numeric) / Math.max(Math.abs(analytic[i]) + Math.abs(numeric), FLOOR);
            worst = Math.max(worst, err);
            if (err > tol) {
                fail(layer.name() + " " + what + "[" + i + "]: analytic " + analytic[i] + ", numeric " + numeric
                        + ", relative error " + err + " > " + tol);
            }
        }
    }

    /**
     * (f(v + h) - f(v - h)) / 2h in coordinate {@code i} of {@code target}, whose host copy is {@code values}; the
     * target and the copy hold their own values again afterwards.
     */
    public static double centralDifference(Backend backend, Tensor target, float[] values, int i, double h,
                                           DoubleSupplier f) {
        float orig = values[i];
        values[i] = (float) (orig + h);
        backend.upload(values, target);
        double plus = f.getAsDouble();
        values[i] = (float) (orig - h);
        backend.upload(values, target);
        double minus = f.getAsDouble();
        values[i] = orig;
        backend.upload(values, target);
        return (plus - minus) / (2 * h);
    }

    private double objective(Layer layer, Tensor x, float[] r, Runnable beforeForward) {
        beforeForward.run();
        float[] y = backend.toHost(layer.forward(x, true));
        double f = 0;
        for (int i = 0; i < y.length; i++) {
            f += (double) y[i] * r[i];
        }
        return f;
    }

    static int[] shape(int batch, int[] sample) {
        return Tensor.batchShape(batch, sample);
    }
}
