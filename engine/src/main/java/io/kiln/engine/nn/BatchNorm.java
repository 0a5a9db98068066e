package io.kiln.engine.nn;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.tensor.Tensor;
import java.util.List;

/**
 * Batch normalisation per channel: over the batch for flat inputs {@code [C]}, over the batch and the
 * image for {@code [C, H, W]}. Training uses batch statistics and updates the running ones; evaluation, and
 * a frozen layer, use the running statistics and leave them unchanged (a frozen layer between trained ones
 * passes the gradient through that fixed transform).
 */
public final class BatchNorm extends Layer {
    private final float momentum;
    private final float eps;
    private final Param gamma;
    private final Param beta;
    private final Tensor runningMean;
    private final Tensor runningVar;
    private final Tensor saveMean;
    private final Tensor saveInvStd;
    private boolean usedBatchStats;
    /** Zeros standing for the mean and shift in the backward pass of a frozen layer; made on first use. */
    private Tensor zeros;
    private Tensor x;
    private Tensor y;

    public BatchNorm(Backend backend, String name, int[] inputShape, double momentum, double eps) {
        super(backend, name, inputShape);
        this.momentum = (float) momentum;
        this.eps = (float) eps;
        int c = inputShape[0];
        float[] ones = new float[c];
        java.util.Arrays.fill(ones, 1f);
        gamma = new Param(name + ".gamma", backend.fromHost(ones, c), backend.allocate(c));
        beta = new Param(name + ".beta", backend.allocate(c), backend.allocate(c));
        runningMean = backend.allocate(c);
        runningVar = backend.fromHost(ones, c);
        saveMean = backend.allocate(c);
        saveInvStd = backend.allocate(c);
    }

    @Override
    public Tensor forward(Tensor input, boolean training) {
        x = input;
        y = ensure(y, input.dim(0), outShape);
        // A frozen layer behaves as in evaluation: its statistics stay those of the network it came from.
        usedBatchStats = training && !frozen();
        if (usedBatchStats) {
            backend.batchNormForwardTraining(input, gamma.value(), beta.value(), eps, momentum,
                    runningMean, runningVar, saveMean, saveInvStd, y);
        } else {
            backend.batchNormForwardInference(input, gamma.value(), beta.value(), eps, runningMean, runningVar, y);
        }
        return y;
    }

    @Override
    public Tensor backward(Tensor dy) {
        if (!usedBatchStats) {
            // Frozen: a fixed per-channel affine map, whose input gradient is dy * gamma / sqrt(runningVar + eps):
            // the inference transform of dy with mean and shift zero.
            if (!needInputGrad) {
                return null;
            }
            if (zeros == null) {
                zeros = backend.allocate(inShape[0]);
            }
            Tensor dx = takeInputGradient(dy);
            backend.batchNormForwardInference(dy, gamma.value(), zeros, eps, zeros, runningVar, dx);
            return dx;
        }
        // the backward kernels write dx whether or not it is needed
        Tensor dx = takeInputGradient(dy);
        backend.batchNormBackward(x, dy, gamma.value(), saveMean, saveInvStd, dx, gamma.grad(), beta.grad());
        if (!needInputGrad) {
            gradients().giveBack(dx);
            return null;
        }
        return dx;
    }

    @Override
    public List<Param> params() {
        return List.of(gamma, beta);
    }

    @Override
    public List<NamedTensor> buffers() {
        return List.of(new NamedTensor(name + ".running_mean", runningMean),
                new NamedTensor(name + ".running_var", runningVar));
    }

    @Override
    protected void closeScratch() {
        closeAll(y, saveMean, saveInvStd, zeros);
    }
}
