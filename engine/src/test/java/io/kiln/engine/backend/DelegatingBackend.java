package io.kiln.engine.backend;

import io.kiln.engine.tensor.Tensor;

/**
 * A backend that hands every operation to another one: tests extend it to change one operation (perturb its
 * output, fail it, record its arguments) and keep the rest of a real backend.
 */
public class DelegatingBackend implements Backend {
    protected final Backend inner;

    public DelegatingBackend(Backend inner) {
        this.inner = inner;
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public Tensor allocate(int... shape) {
        return inner.allocate(shape);
    }

    @Override
    public void upload(float[] src, Tensor dst) {
        inner.upload(src, dst);
    }

    @Override
    public void download(Tensor src, float[] dst) {
        inner.download(src, dst);
    }

    @Override
    public void fill(Tensor t, float value) {
        inner.fill(t, value);
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        inner.copy(src, dst);
    }

    @Override
    public void synchronize() {
        inner.synchronize();
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Tensor a, Tensor b, float beta, Tensor c) {
        inner.gemm(transA, transB, m, n, k, alpha, a, b, beta, c);
    }

    @Override
    public void conv2dForward(ConvGeometry g, Tensor x, Tensor w, Tensor y) {
        inner.conv2dForward(g, x, w, y);
    }

    @Override
    public void conv2dBackwardData(ConvGeometry g, Tensor w, Tensor dy, Tensor dx) {
        inner.conv2dBackwardData(g, w, dy, dx);
    }

    @Override
    public void conv2dBackwardFilter(ConvGeometry g, Tensor x, Tensor dy, Tensor dw) {
        inner.conv2dBackwardFilter(g, x, dy, dw);
    }

    @Override
    public void addBias(Tensor y, Tensor bias) {
        inner.addBias(y, bias);
    }

    @Override
    public void biasBackward(Tensor dy, Tensor db) {
        inner.biasBackward(dy, db);
    }

    @Override
    public void poolForward(PoolMode mode, PoolGeometry g, Tensor x, Tensor y) {
        inner.poolForward(mode, g, x, y);
    }

    @Override
    public void poolBackward(PoolMode mode, PoolGeometry g, Tensor x, Tensor y, Tensor dy, Tensor dx) {
        inner.poolBackward(mode, g, x, y, dy, dx);
    }

    @Override
    public void activationForward(Activation f, Tensor x, Tensor y) {
        inner.activationForward(f, x, y);
    }

    @Override
    public void activationBackward(Activation f, Tensor y, Tensor dy, Tensor dx) {
        inner.activationBackward(f, y, dy, dx);
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        inner.add(a, b, out);
    }

    @Override
    public void multiply(Tensor a, Tensor b, Tensor out) {
        inner.multiply(a, b, out);
    }

    @Override
    public void axpy(float alpha, Tensor x, Tensor y) {
        inner.axpy(alpha, x, y);
    }

    @Override
    public void scale(Tensor x, float alpha) {
        inner.scale(x, alpha);
    }

    @Override
    public void dropoutForward(Tensor x, float p, long seed, Tensor mask, Tensor y) {
        inner.dropoutForward(x, p, seed, mask, y);
    }

    @Override
    public void batchNormForwardTraining(Tensor x, Tensor gamma, Tensor beta, float eps, float momentum, Tensor runningMean, Tensor runningVar, Tensor saveMean, Tensor saveInvStd, Tensor y) {
        inner.batchNormForwardTraining(x, gamma, beta, eps, momentum, runningMean, runningVar, saveMean, saveInvStd, y);
    }

    @Override
    public void batchNormForwardInference(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor runningMean, Tensor runningVar, Tensor y) {
        inner.batchNormForwardInference(x, gamma, beta, eps, runningMean, runningVar, y);
    }

    @Override
    public void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd, Tensor dx, Tensor dGamma, Tensor dBeta) {
        inner.batchNormBackward(x, dy, gamma, saveMean, saveInvStd, dx, dGamma, dBeta);
    }

    @Override
    public void softmax(Tensor scores, Tensor probabilities) {
        inner.softmax(scores, probabilities);
    }

    @Override
    public void loss(LossKind kind, Tensor output, Tensor labels, Tensor grad, Tensor stats, int slot) {
        inner.loss(kind, output, labels, grad, stats, slot);
    }

    @Override
    public void sgdUpdate(Tensor w, Tensor g, Tensor velocity, float lr, float momentum, boolean nesterov, float weightDecay) {
        inner.sgdUpdate(w, g, velocity, lr, momentum, nesterov, weightDecay);
    }

    @Override
    public void rmspropUpdate(Tensor w, Tensor g, Tensor squareAvg, float lr, float alpha, float eps, float weightDecay) {
        inner.rmspropUpdate(w, g, squareAvg, lr, alpha, eps, weightDecay);
    }

    @Override
    public void adamUpdate(Tensor w, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps, float weightDecay, long step) {
        inner.adamUpdate(w, g, m, v, lr, beta1, beta2, eps, weightDecay, step);
    }

    @Override
    public void close() {
        inner.close();
    }
}
