package io.kiln.engine.backend.cuda;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.InterceptedBackend;
import io.kiln.engine.tensor.Tensor;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A stand-in for a device backend that is wrong by a known amount. An element v becomes v + r * (1 + |v|),
 * where r is what {@link Perturbation} gives for the operation that wrote it; since gpu-check passes an
 * element when |device - cpu| &lt;= tol * (1 + |cpu|) (atol = rtol = tol), r = 10 tol puts it at ten times its
 * tolerance and r = tol / 10 at a tenth.
 *
 * <p>{@link Where#RESULTS}: the values are changed as they are read back (download), by the r of the
 * operation that last wrote the tensor: the device's results are off by exactly that, however many steps
 * made them. {@link Where#OUTPUTS}: every output is changed right after the operation, so later operations
 * compute with the wrong values, as with a device whose operation is wrong. {@link Where#NOISE}: every output
 * element is multiplied right after the operation by 1 + r u, u uniform in [-1, 1] from a fixed seed: relative,
 * zero-mean differences of the size r, as a device that sums in another order (or with TF32) makes them.
 */
final class PerturbedBackend {
    /** The relative error r to give what an operation wrote; 0 leaves it as it is. */
    @FunctionalInterface
    interface Perturbation {
        double of(String op, Activation activation);
    }

    enum Where { RESULTS, OUTPUTS, NOISE }

    /** Which arguments of each Backend operation it writes. */
    static final Map<String, int[]> OUTPUTS = Map.ofEntries(
            Map.entry("upload", new int[] {1}), Map.entry("fill", new int[] {0}), Map.entry("copy", new int[] {1}),
            Map.entry("gemm", new int[] {9}), Map.entry("conv2dForward", new int[] {3}),
            Map.entry("conv2dBackwardData", new int[] {3}), Map.entry("conv2dBackwardFilter", new int[] {3}),
            Map.entry("addBias", new int[] {0}), Map.entry("biasBackward", new int[] {1}),
            Map.entry("poolForward", new int[] {3}), Map.entry("poolBackward", new int[] {5}),
            Map.entry("activationForward", new int[] {2}), Map.entry("activationBackward", new int[] {3}),
            Map.entry("add", new int[] {2}), Map.entry("multiply", new int[] {2}), Map.entry("axpy", new int[] {2}),
            Map.entry("scale", new int[] {0}), Map.entry("dropoutForward", new int[] {3, 4}),
            Map.entry("batchNormForwardTraining", new int[] {9, 7, 8, 5, 6}),
            Map.entry("batchNormForwardInference", new int[] {6}), Map.entry("batchNormBackward", new int[] {5, 6, 7}),
            Map.entry("softmax", new int[] {1}), Map.entry("loss", new int[] {3, 4}),
            Map.entry("sgdUpdate", new int[] {0, 2}), Map.entry("rmspropUpdate", new int[] {0, 2}),
            Map.entry("adamUpdate", new int[] {0, 2, 3}), Map.entry("embeddingForward", new int[] {2}),
            Map.entry("embeddingBackward", new int[] {2}), Map.entry("lstmCellForward", new int[] {2, 3, 4}),
            Map.entry("lstmCellBackward", new int[] {5, 6}), Map.entry("argmax", new int[] {1}));

    private record Writer(String op, Activation activation) {
    }

    private PerturbedBackend() {
    }

    private static void perturb(float[] v, double r) {
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] + r * (1 + Math.abs(v[i])));
        }
    }

    private static void noise(float[] v, double r, SplittableRandom rng) {
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] * (1 + r * (2 * rng.nextDouble() - 1)));
        }
    }

    /** The CPU backend {@code inner}, made wrong as {@code perturbation} says. */
    static Backend of(Backend inner, Where where, Perturbation perturbation) {
        Map<Tensor, Writer> lastWriter = new IdentityHashMap<>();
        SplittableRandom rng = new SplittableRandom(17);
        return InterceptedBackend.of(inner, call -> {
            Object result = call.proceed();
            Object[] a = call.args();
            if (call.op().equals("download") && where == Where.RESULTS && lastWriter.containsKey((Tensor) a[0])) {
                Writer w = lastWriter.get((Tensor) a[0]);
                perturb((float[]) a[1], perturbation.of(w.op(), w.activation()));
            }
            int[] outputs = OUTPUTS.get(call.op());
            if (outputs != null) {
                Activation f = a[0] instanceof Activation act ? act : null;
                double r = perturbation.of(call.op(), f);
                for (int i : outputs) {
                    if (!(a[i] instanceof Tensor t) || call.op().equals("sgdUpdate") && i == 2 && (float) a[4] == 0f) {
                        continue; // no velocity without momentum
                    }
                    if (where == Where.RESULTS) {
                        lastWriter.put(t, new Writer(call.op(), f));
                    } else if (r != 0) {
                        float[] v = inner.toHost(t);
                        if (where == Where.NOISE) {
                            noise(v, r, rng);
                        } else {
                            perturb(v, r);
                        }
                        inner.upload(v, t);
                    }
                }
            }
            return result;
        });
    }
}
