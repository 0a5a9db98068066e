package io.kiln.engine.backend;

import io.kiln.engine.tensor.Tensor;

/**
 * The small set of primitive operations every layer, loss and optimizer is built on. A backend owns the
 * memory of the tensors it makes; the CPU backend is the reference that every other backend is checked
 * against ({@code gpu-check}).
 *
 * <p>Conventions: tensors are dense row-major float32; images are NCHW; an output tensor is fully written
 * (never accumulated into) unless the method says otherwise; outputs never alias inputs unless the method
 * says so. Labels are class indices stored as floats.
 *
 * <p>Methods that return nothing may run asynchronously (on a GPU stream); {@link #download} and
 * {@link #synchronize} wait for all work queued before them.
 */
public interface Backend extends AutoCloseable {

    /** A short name for logs and events, e.g. {@code cpu} or {@code cuda:0 (NVIDIA H100 80GB HBM3)}. */
    String name();

    // ---- memory ---------------------------------------------------------------------------------------

    /** A new zero-filled tensor. */
    Tensor allocate(int... shape);

    /** Copies {@code src} (length = dst.size()) from the host into {@code dst}. */
    void upload(float[] src, Tensor dst);

    /** Copies {@code src} into {@code dst} (length = src.size()) on the host, waiting for queued work. */
    void download(Tensor src, float[] dst);

    /** A new tensor holding a copy of the host array. */
    default Tensor fromHost(float[] src, int... shape) {
        Tensor t = allocate(shape);
        upload(src, t);
        return t;
    }

    /** A host copy of the whole tensor. */
    default float[] toHost(Tensor t) {
        float[] out = new float[t.size()];
        download(t, out);
        return out;
    }

    void fill(Tensor t, float value);

    /** dst = src; equal sizes. */
    void copy(Tensor src, Tensor dst);

    /** Waits for all queued work. */
    void synchronize();

    // ---- matrix products ------------------------------------------------------------------------------

    /**
     * C = alpha * op(A) * op(B) + beta * C, row-major, with op(A) of {@code [m, k]}, op(B) of {@code [k, n]}
     * and C of {@code [m, n]}. A is stored {@code [m, k]} ({@code [k, m]} when transA), B is stored
     * {@code [k, n]} ({@code [n, k]} when transB). Tensors are read by their element count, whatever their
     * rank. With beta == 0, C is not read (NaNs in it do not propagate).
     */
    void gemm(boolean transA, boolean transB, int m, int n, int k,
              float alpha, Tensor a, Tensor b, float beta, Tensor c);

    // ---- convolution and pooling ----------------------------------------------------------------------

    /** y = conv(x, w); x {@code g.inputShape()}, w {@code g.filterShape()}, y {@code g.outputShape()}. */
    void conv2dForward(ConvGeometry g, Tensor x, Tensor w, Tensor y);

    /** dx = gradient of the convolution with respect to its input. */
    void conv2dBackwardData(ConvGeometry g, Tensor w, Tensor dy, Tensor dx);

    /** dw = gradient of the convolution with respect to its filters. */
    void conv2dBackwardFilter(ConvGeometry g, Tensor x, Tensor dy, Tensor dw);

    /** y[n, c, ...] += bias[c] for y of shape {@code [n, c, spatial...]} (rank 2 for dense outputs). */
    void addBias(Tensor y, Tensor bias);

    /** db[c] = sum over n and spatial positions of dy[n, c, ...]. */
    void biasBackward(Tensor dy, Tensor db);

    void poolForward(PoolMode mode, PoolGeometry g, Tensor x, Tensor y);

    /**
     * dx = gradient of pooling. Max pooling routes each output's gradient to the first position (in
     * row-major window order) that holds the maximum; x and y are those of the forward pass.
     */
    void poolBackward(PoolMode mode, PoolGeometry g, Tensor x, Tensor y, Tensor dy, Tensor dx);

    // ---- pointwise -------------------------------------------------------------------------------------

    /** y = f(x); y may be x. */
    void activationForward(Activation f, Tensor x, Tensor y);

    /** dx = f'(x) * dy written in terms of the forward output y; dx may be dy. */
    void activationBackward(Activation f, Tensor y, Tensor dy, Tensor dx);

    /** out = a + b elementwise; out may be a or b. */
    void add(Tensor a, Tensor b, Tensor out);

    /** out = a * b elementwise; out may be a or b. */
    void multiply(Tensor a, Tensor b, Tensor out);

    /** y += alpha * x elementwise. */
    void axpy(float alpha, Tensor x, Tensor y);

    /** x *= alpha. */
    void scale(Tensor x, float alpha);

    /**
     * Inverted dropout: mask[i] = 1/(1-p) if {@link CounterRandom#uniform}(seed, i) &gt;= p, else 0; y = x * mask.
     * The random stream is a pure function of (seed, i), so every backend draws the same mask.
     */
    void dropoutForward(Tensor x, float p, long seed, Tensor mask, Tensor y);

    // ---- normalisation ---------------------------------------------------------------------------------

    /**
     * Batch normalisation in training mode over x {@code [n, c, spatial...]} (rank 2 for dense), statistics
     * per channel over n and spatial positions. Writes y, the batch mean and 1/sqrt(var + eps) (biased
     * variance) for the backward pass, and updates the running statistics:
     * run = (1 - momentum) * run + momentum * batch, with the unbiased variance (as PyTorch and cuDNN). With one
     * value per channel (n * spatial = 1) the running statistics are left as they are
     * ({@link ArgumentChecks.Channels#updatesRunningStatistics}).
     */
    void batchNormForwardTraining(Tensor x, Tensor gamma, Tensor beta, float eps, float momentum,
                                  Tensor runningMean, Tensor runningVar,
                                  Tensor saveMean, Tensor saveInvStd, Tensor y);

    /** y = gamma * (x - runningMean) / sqrt(runningVar + eps) + beta. */
    void batchNormForwardInference(Tensor x, Tensor gamma, Tensor beta, float eps,
                                   Tensor runningMean, Tensor runningVar, Tensor y);

    /** dx, dGamma and dBeta of training-mode batch normalisation, from the saved statistics. */
    void batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                           Tensor dx, Tensor dGamma, Tensor dBeta);

    // ---- losses and evaluation -------------------------------------------------------------------------

    /** Row-wise softmax of {@code [n, k]} scores. */
    void softmax(Tensor scores, Tensor probabilities);

    /**
     * Loss of a batch fused with its gradient. Adds the sum over the batch of the per-sample loss to
     * {@code stats[2 * slot]} and the number of correct predictions to {@code stats[2 * slot + 1]} (stats
     * is accumulated into, so an epoch's figures can stay on the device until it ends). Writes
     * grad = d(mean loss)/d(output) unless grad is null (evaluation).
     */
    void loss(LossKind kind, Tensor output, Tensor labels, Tensor grad, Tensor stats, int slot);

    // ---- sequences: word embeddings, the LSTM cell, greedy decoding --------------------------------------

    /**
     * out[i, :] = table[indices[i], :] for a table {@code [V, D]}, word indices {@code [n]} (stored as floats, as
     * labels are) and out {@code [n, D]}.
     */
    void embeddingForward(Tensor table, Tensor indices, Tensor out);

    /**
     * The embedding's gradient by scatter-add: dTable[indices[i], :] += dOut[i, :] for i = 0, 1, ... in that
     * order. Accumulates (the caller zeroes dTable), so that repeated words and several time steps add up.
     */
    void embeddingBackward(Tensor dOut, Tensor indices, Tensor dTable);

    /**
     * An LSTM cell's gate arithmetic after its matrix products. {@code a [n, 4H]} holds per row the
     * pre-activations of the input, forget and output gates and the candidate, H columns each, in the order
     * i, f, o, g (CS231n's). Writes {@code gates [n, 4H]} = (sigmoid(a_i), sigmoid(a_f), sigmoid(a_o), tanh(a_g)),
     * {@code c = f * cPrev + i * g} and {@code h = o * tanh(c)} ({@code [n, H]}). gates may be a.
     */
    void lstmCellForward(Tensor a, Tensor cPrev, Tensor gates, Tensor c, Tensor h);

    /**
     * The gradient of {@link #lstmCellForward}: given dh (of h) and dc (of c, from the next time step; null for
     * none), writes da {@code [n, 4H]} and dcPrev. gates, cPrev and c are those of the forward pass; tanh(c) is
     * computed again. dcPrev may be dc.
     */
    void lstmCellBackward(Tensor gates, Tensor cPrev, Tensor c, Tensor dh, Tensor dc, Tensor da, Tensor dcPrev);

    /** indices[i] = the first j with the largest scores[i, j], as a float, for scores {@code [n, k]}. */
    void argmax(Tensor scores, Tensor indices);

    // ---- optimizer updates (weight decay is L2 added to the gradient) ---------------------------------

    /**
     * SGD with momentum as PyTorch: g' = g + wd * w; v = momentum * v + g'; w -= lr * (nesterov ? g' +
     * momentum * v : v). With momentum 0, v is unused and may be null.
     */
    void sgdUpdate(Tensor w, Tensor g, Tensor velocity, float lr, float momentum, boolean nesterov,
                   float weightDecay);

    /** RMSprop as PyTorch: s = alpha * s + (1 - alpha) * g'^2; w -= lr * g' / (sqrt(s) + eps). */
    void rmspropUpdate(Tensor w, Tensor g, Tensor squareAvg, float lr, float alpha, float eps,
                       float weightDecay);

    /**
     * Adam as PyTorch (L2, not decoupled): m = b1 m + (1-b1) g'; v = b2 v + (1-b2) g'^2;
     * w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps), t the 1-based step number.
     */
    void adamUpdate(Tensor w, Tensor g, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
                    float weightDecay, long step);

    /** Releases backend resources (thread pools, device context). Tensors should be closed first. */
    @Override
    void close();
}
