package io.kiln.engine.backend.cuda;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.ConvGeometry;
import io.kiln.engine.backend.DelegatingBackend;
import io.kiln.engine.backend.LossKind;
import io.kiln.engine.backend.PoolGeometry;
import io.kiln.engine.backend.PoolMode;
import io.kiln.engine.tensor.Tensor;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * A stand-in for a device backend that is wrong by a known amount. An element v becomes v + r * (1 + |v|),
 * where r is what {@link Perturbation} gives for the operation that wrote it; since gpu-check passes an
 * element when |device - cpu| &lt;= tol * (1 + |cpu|) (atol = rtol = tol), r = 10 tol puts it at ten times its
 * tolerance and r = tol / 10 at a tenth.
 *
 * <p>{@link Where#RESULTS}: the values are changed as they are read back ({@link #download}), by the r of the
 * operation that last wrote the tensor: the device's results are off by exactly that, however many steps
 * made them. {@link Where#OUTPUTS}: every output is changed right after the operation, so later operations
 * compute with the wrong values, as with a device whose operation is wrong.
 */
final class PerturbedBackend extends DelegatingBackend {
    /** The relative error r to give what an operation wrote; 0 leaves it as it is. */
    @FunctionalInterface
    interface Perturbation {
        double of(String op, Activation activation);
    }

    enum Where { RESULTS, OUTPUTS }

    private record Writer(String op, Activation activation) {
    }

    private final Perturbation perturbation;
    private final Where where;
    private final Map<Tensor, Writer> lastWriter = new IdentityHashMap<>();

    PerturbedBackend(Backend inner, Where where, Perturbation perturbation) {
        super(inner);
        this.where = where;
        this.perturbation = perturbation;
    }

    private static void perturb(float[] v, double r) {
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] + r * (1 + Math.abs(v[i])));
        }
    }

    @Override
    public void download(Tensor src, float[] dst) {
        inner.download(src, dst);
        Writer w = lastWriter.get(src);
        if (where == Where.RESULTS && w != null) {
            perturb(dst, perturbation.of(w.op(), w.activation()));
        }
    }

    private void nudge(String op, Activation activation, Tensor... outputs) {
        double r = perturbation.of(op, activation);
        for (Tensor t : outputs) {
            if (t == null) {
                continue;
            }
            if (where == Where.RESULTS) {
                lastWriter.put(t, new Writer(op, activation));
            } else if (r != 0) {
                float[] v = inner.toHost(t);
                perturb(v, r);
                inner.upload(v, t);
            }
        }
    }

    @Override
    public void upload(float[] src, Tensor dst) {
        inner.upload(src, dst);
        nudge("upload", null, dst);
    }

    @Override
    public void fill(Tensor t, float value) {
        inner.fill(t, value);
        nudge("fill", null, t);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        inner.copy(src, dst);
        nudge("copy", null, dst);
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta,
                     Tensor c) {
        inner.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
        nudge("gemm", null, c);
    }

    @Override
    public void conv2dForward(ConvGeometry g, Tensor x, Tensor w, Tensor y) {
        inner.conv2dForward(g, x, w, y);
        nudge("conv2dForward", null, y);
    }

    @Override
    public void conv2dBackwardData(ConvGeometry g, Tensor w, Tensor dy, Tensor dx) {
        inner.conv2dBackwardData(g, w, dy, dx);
        nudge("conv2dBackwardData", null, dx);
    }

    @Override
    public void conv2dBackwardFilter(ConvGeometry g, Tensor x, Tensor dy, Tensor dw) {
        inner.conv2dBackwardFilter(g, x, dy, dw);
        nudge("conv2dBackwardFilter", null, dw);
    }

    @Override
    public void addBias(Tensor y, Tensor bias) {
        inner.addBias(y, bias);
        nudge("addBias", null, y);
    }

    @Override
    public void biasBackward(Tensor dy, Tensor db) {
        inner.biasBackward(dy, db);
        nudge("biasBackward", null, db);
    }

    @Override
    public void poolForward(PoolMode mode, PoolGeometry g, Tensor x, Tensor y) {
        inner.poolForward(mode, g, x, y);
        nudge("poolForward", null, y);
    }

    @Override
    public void poolBackward(PoolMode mode, PoolGeometry g, Tensor x, Tensor y, Tensor dy, Tensor dx) {
        inner.poolBackward(mode, g, x, y, dy, dx);
        nudge("poolBackward", null, dx);
    }

    @Override
    public void activationForward(Activation f, Tensor x, Tensor y) {
        inner.activationForward(f, x, y);
        nudge("activationForward", f, y);
    }

    @Override
    public void activationBackward(Activation f, Tensor y, Tensor dy, Tensor dx) {
        inner.activationBackward(f, y, dy, dx);
        nudge("activationBackward", f, dx);
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        inner.add(a, b, out);
        nudge("add", null, out);
    }

    @Override
    public void multiply(Tensor a, Tensor b, Tensor out) {
        inner.multiply(a, b, out);
        nudge("multiply", null, out);
    }

    @Override
    public void axpy(float alpha, Tensor x, Tensor y) {
        inner.axpy(alpha, x, y);
        nudge("axpy", null, y);
    }

    @Override
    public void scale(Tensor x, float alpha) {
        inner.scale(x, alpha);
        nudge("scale", null, x);
    }

    @Override
    public void dropoutForward(Tensor x, float p, long seed, Tensor mask, Tensor y) {
        inner.dropoutForward(x, p, seed, mask, y);
        nudge("dropoutForward", null, mask, y);
    }

    @Override
    public void batchNormForwardTraining(Tensor x, Tensor gamma, Tensor beta, float eps, float momentum,
                                         Tensor runningMean, Tensor runningVar, Tensor saveMean, Tensor saveInvStd,
                                         Tensor y) {
        inner.batchNormForwardTraining(x, gamma, beta, eps, momentum, runningMean, runningVar, saveMean, saveInvStd, y);
        nudge("batchNormForwardTraining", null, y, saveMean, saveInvStd, runningMean, runningVar);
    }

    @Override
    public void batchNormForwardInference(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor runningMean,
                                          Tensor runningVar, Tensor y) {
        inner.batchNormForwardInference(x, gamma, beta, eps, runningMean, runningVar, y);
        nudge("batchNormForwardInference", null, y);
    }

    @Override
    public void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dx,
                                  Tensor dGamma, Tensor dBeta) {
        inner.batchNormBackward(x, dy, gamma, saveMean, saveInvStd, dx, dGamma, dBeta);
        nudge("batchNormBackward", null, dx, dGamma, dBeta);
    }

    @Override
    public void softmax(Tensor scores, Tensor probabilities) {
        inner.softmax(scores, probabilities);
        nudge("softmax", null, probabilities);
    }

    @Override
    public void loss(LossKind kind, Tensor output, Tensor labels, Tensor grad, Tensor stats, int slot) {
        inner.loss(kind, output, labels, grad, stats, slot);
        nudge("loss", null, grad, stats);
    }

    @Override
    public void sgdUpdate(Tensor w, Tensor g, Tensor velocity, float lr, float momentum, boolean nesterov,
                          float weightDecay) {
        inner.sgdUpdate(w, g, velocity, lr, momentum, nesterov, weightDecay);
        nudge("sgdUpdate", null, w, momentum == 0f ? null : velocity);
    }

    @Override
    public void rmspropUpdate(Tensor w, Tensor g, Tensor squareAvg, float lr, float alpha, float eps, float weightDecay) {
        inner.rmspropUpdate(w, g, squareAvg, lr, alpha, eps, weightDecay);
        nudge("rmspropUpdate", null, w, squareAvg);
    }

    @Override
    public void adamUpdate(Tensor w, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                           float weightDecay, long step) {
        inner.adamUpdate(w, g, m, v, lr, beta1, beta2, eps, weightDecay, step);
        nudge("adamUpdate", null, w, m, v);
    }
}
