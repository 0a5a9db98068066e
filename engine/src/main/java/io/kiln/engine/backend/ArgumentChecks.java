package io.kiln.engine.backend;

import io.kiln.engine.tensor.Tensor;
import java.util.Arrays;
import java.util.Objects;

/**
 * The argument rules of {@link Backend}'s operations, written once for every backend: sizes against the
 * geometry or {@code m, n, k} with the shapes in the message, and outputs that must not share storage with
 * an input. A backend first checks that each tensor is one of its own (that rule differs per backend), then
 * calls the check of the operation, so that both backends refuse the same calls with the same messages.
 */
public final class ArgumentChecks {
    /** The identity of a tensor's storage: two tensors alias when this gives the same object for both. */
    @FunctionalInterface
    public interface Storage {
        Object of(Tensor t);
    }

    /** The layout of {@code [n, c, spatial...]}: spatial is the product of the trailing dimensions. */
    public record Channels(int n, int c, int spatial) {
        /**
         * Whether batch normalisation in training mode updates the running statistics: only with more than one
         * value per channel. With one (a dense batch-norm layer and a batch of 1) the unbiased variance would
         * divide by zero (cuDNN's is then infinite or NaN); every backend leaves the running mean and variance as
         * they are instead, and still normalises the batch with its biased variance, 0.
         */
        public boolean updatesRunningStatistics() {
            return (long) n * spatial > 1;
        }
    }

    private final Storage storage;

    public ArgumentChecks(Storage storage) {
        this.storage = Objects.requireNonNull(storage, "storage");
    }

    // ---- the rules ------------------------------------------------------------------------------------

    public static void expectSize(String op, String what, Tensor t, long expected, String expectation) {
        if (t.size() != expected) {
            throw new IllegalArgumentException(op + ": " + what + " " + Arrays.toString(t.shape()) + " has " + t.size()
                    + " elements, expected " + expected + " (" + expectation + ")");
        }
    }

    public static void sameSize(String op, String what, Tensor t, String refWhat, Tensor ref) {
        if (t.size() != ref.size()) {
            throw new IllegalArgumentException(op + ": " + what + " " + Arrays.toString(t.shape()) + " and " + refWhat
                    + " " + Arrays.toString(ref.shape()) + " differ in size");
        }
    }

    public void noAlias(String op, String out, Tensor o, String in, Tensor i) {
        if (storage.of(o) == storage.of(i)) {
            throw new IllegalArgumentException(op + ": output " + out + " must not share storage with input " + in);
        }
    }

    /** Dimension 1 of {@code [n, c, spatial...]} and the layout around it. */
    public static Channels channels(String op, String what, Tensor t) {
        if (t.rank() < 2) {
            throw new IllegalArgumentException(op + ": " + what + " " + Arrays.toString(t.shape())
                    + " must have rank >= 2 ([n, c, spatial...])");
        }
        int n = t.dim(0), c = t.dim(1);
        return new Channels(n, c, c == 0 || n == 0 ? 0 : t.size() / (n * c));
    }

    // ---- memory and matrix products -----------------------------------------------------------------

    public static void upload(float[] src, Tensor dst) {
        if (src.length != dst.size()) {
            throw new IllegalArgumentException("upload: source of " + src.length + " floats, destination "
                    + Arrays.toString(dst.shape()) + " has " + dst.size() + " elements");
        }
    }

    public static void download(Tensor src, float[] dst) {
        if (dst.length != src.size()) {
            throw new IllegalArgumentException("download: source " + Arrays.toString(src.shape()) + " has " + src.size()
                    + " elements, destination holds " + dst.length + " floats");
        }
    }

    public void gemm(boolean transA, boolean transB, int m, int n, int k, Tensor a, Tensor b, Tensor c) {
        if (m < 0 || n < 0 || k < 0) {
            throw new IllegalArgumentException("gemm: negative dimension m=" + m + " n=" + n + " k=" + k);
        }
        expectSize("gemm", "A", a, (long) m * k, (transA ? "[k, m] = [" + k + ", " + m : "[m, k] = [" + m + ", " + k) + "]");
        expectSize("gemm", "B", b, (long) k * n, (transB ? "[n, k] = [" + n + ", " + k : "[k, n] = [" + k + ", " + n) + "]");
        expectSize("gemm", "C", c, (long) m * n, "[m, n] = [" + m + ", " + n + "]");
        noAlias("gemm", "C", c, "A", a);
        noAlias("gemm", "C", c, "B", b);
    }

    // ---- convolution, bias and pooling --------------------------------------------------------------

    private static void convSizes(String op, ConvGeometry g, Tensor x, String xName, Tensor w, Tensor y, String yName) {
        Objects.requireNonNull(g, "geometry");
        expectSize(op, xName, x, (long) g.n() * g.c() * g.h() * g.w(), "input " + Arrays.toString(g.inputShape()) + " of " + g);
        expectSize(op, "w", w, (long) g.k() * g.c() * g.kernelH() * g.kernelW(), "filters " + Arrays.toString(g.filterShape()) + " of " + g);
        expectSize(op, yName, y, (long) g.n() * g.k() * g.outH() * g.outW(), "output " + Arrays.toString(g.outputShape()) + " of " + g);
    }

    public void conv2dForward(ConvGeometry g, Tensor x, Tensor w, Tensor y) {
        convSizes("conv2dForward", g, x, "x", w, y, "y");
        noAlias("conv2dForward", "y", y, "x", x);
        noAlias("conv2dForward", "y", y, "w", w);
    }

    public void conv2dBackwardData(ConvGeometry g, Tensor w, Tensor dy, Tensor dx) {
        convSizes("conv2dBackwardData", g, dx, "dx", w, dy, "dy");
        noAlias("conv2dBackwardData", "dx", dx, "dy", dy);
        noAlias("conv2dBackwardData", "dx", dx, "w", w);
    }

    public void conv2dBackwardFilter(ConvGeometry g, Tensor x, Tensor dy, Tensor dw) {
        convSizes("conv2dBackwardFilter", g, x, "x", dw, dy, "dy");
        noAlias("conv2dBackwardFilter", "dw", dw, "x", x);
        noAlias("conv2dBackwardFilter", "dw", dw, "dy", dy);
    }

    public Channels addBias(Tensor y, Tensor bias) {
        Channels s = channels("addBias", "y", y);
        expectSize("addBias", "bias", bias, s.c(), "dimension 1 of y " + Arrays.toString(y.shape()));
        noAlias("addBias", "y", y, "bias", bias);
        return s;
    }

    public Channels biasBackward(Tensor dy, Tensor db) {
        Channels s = channels("biasBackward", "dy", dy);
        expectSize("biasBackward", "db", db, s.c(), "dimension 1 of dy " + Arrays.toString(dy.shape()));
        noAlias("biasBackward", "db", db, "dy", dy);
        return s;
    }

    private static void poolSizes(String op, PoolMode mode, PoolGeometry g, Tensor x, String xName, Tensor y, String yName) {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(g, "geometry");
        expectSize(op, xName, x, (long) g.n() * g.c() * g.h() * g.w(), "input " + Arrays.toString(g.inputShape()) + " of " + g);
        expectSize(op, yName, y, (long) g.n() * g.c() * g.outH() * g.outW(), "output " + Arrays.toString(g.outputShape()) + " of " + g);
    }

    public void poolForward(PoolMode mode, PoolGeometry g, Tensor x, Tensor y) {
        poolSizes("poolForward", mode, g, x, "x", y, "y");
        noAlias("poolForward", "y", y, "x", x);
    }

    public void poolBackward(PoolMode mode, PoolGeometry g, Tensor x, Tensor y, Tensor dy, Tensor dx) {
        poolSizes("poolBackward", mode, g, x, "x", y, "y");
        poolSizes("poolBackward", mode, g, dx, "dx", dy, "dy");
        noAlias("poolBackward", "dx", dx, "dy", dy);
        noAlias("poolBackward", "dx", dx, "x", x);
    }

    // ---- pointwise -----------------------------------------------------------------------------------

    public static void activationForward(Activation f, Tensor x, Tensor y) {
        Objects.requireNonNull(f, "activation");
        sameSize("activationForward", "x", x, "y", y);
    }

    public static void activationBackward(Activation f, Tensor y, Tensor dy, Tensor dx) {
        Objects.requireNonNull(f, "activation");
        sameSize("activationBackward", "dy", dy, "y", y);
        sameSize("activationBackward", "dx", dx, "y", y);
    }

    /** {@code add} and {@code multiply}: out = a (op) b, all of one size. */
    public static void elementwise(String op, Tensor a, Tensor b, Tensor out) {
        sameSize(op, "b", b, "a", a);
        sameSize(op, "out", out, "a", a);
    }

    public void dropoutForward(Tensor x, float p, Tensor mask, Tensor y) {
        if (!(p >= 0f && p < 1f)) {
            throw new IllegalArgumentException("dropoutForward: p must be in [0, 1), got " + p);
        }
        sameSize("dropoutForward", "mask", mask, "x", x);
        sameSize("dropoutForward", "y", y, "x", x);
        noAlias("dropoutForward", "mask", mask, "x", x);
        noAlias("dropoutForward", "mask", mask, "y", y);
    }

    // ---- normalisation -------------------------------------------------------------------------------

    /** The layout of x, after checking that every per-channel tensor has one element per channel. */
    private static Channels perChannel(String op, Tensor x, Tensor[] params, String[] names) {
        Channels s = channels(op, "x", x);
        for (int i = 0; i < params.length; i++) {
            expectSize(op, names[i], params[i], s.c(), "channels of x " + Arrays.toString(x.shape()));
        }
        return s;
    }

    public static Channels batchNormForwardTraining(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                                    Tensor runningVar, Tensor saveMean, Tensor saveInvStd, Tensor y) {
        String op = "batchNormForwardTraining";
        Channels s = perChannel(op, x, new Tensor[] {gamma, beta, runningMean, runningVar, saveMean, saveInvStd},
                new String[] {"gamma", "beta", "runningMean", "runningVar", "saveMean", "saveInvStd"});
        sameSize(op, "y", y, "x", x);
        return s;
    }

    public static Channels batchNormForwardInference(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean,
                                                     Tensor runningVar, Tensor y) {
        String op = "batchNormForwardInference";
        Channels s = perChannel(op, x, new Tensor[] {gamma, beta, runningMean, runningVar},
                new String[] {"gamma", "beta", "runningMean", "runningVar"});
        sameSize(op, "y", y, "x", x);
        return s;
    }

    public Channels batchNormBackward(Tensor x, Tensor dy, Tensor gamma, Tensor saveMean, Tensor saveInvStd,
                                      Tensor dx, Tensor dGamma, Tensor dBeta) {
        String op = "batchNormBackward";
        Channels s = perChannel(op, x, new Tensor[] {gamma, saveMean, saveInvStd, dGamma, dBeta},
                new String[] {"gamma", "saveMean", "saveInvStd", "dGamma", "dBeta"});
        sameSize(op, "dy", dy, "x", x);
        sameSize(op, "dx", dx, "x", x);
        noAlias(op, "dx", dx, "x", x);
        return s;
    }

    // ---- losses --------------------------------------------------------------------------------------

    public static void softmax(Tensor scores, Tensor probabilities) {
        if (scores.rank() < 2) {
            throw new IllegalArgumentException("softmax: scores " + Arrays.toString(scores.shape()) + " must be [n, k]");
        }
        sameSize("softmax", "probabilities", probabilities, "scores", scores);
    }

    /** The number of outputs per sample, k, of {@code output [n, k]} with n the number of labels. */
    public int loss(LossKind kind, Tensor output, Tensor labels, Tensor grad, Tensor stats, int slot) {
        Objects.requireNonNull(kind, "kind");
        int n = labels.size();
        if (n == 0 || output.size() % n != 0 || output.dim(0) != n) {
            throw new IllegalArgumentException("loss: output " + Arrays.toString(output.shape()) + " does not match labels "
                    + Arrays.toString(labels.shape()) + " (output must be [n, k] with n = number of labels)");
        }
        int k = output.size() / n;
        if (grad != null) {
            sameSize("loss", "grad", grad, "output", output);
            noAlias("loss", "grad", grad, "labels", labels);
        }
        if (slot < 0 || 2L * slot + 1 >= stats.size()) {
            throw new IllegalArgumentException("loss: slot " + slot + " outside stats " + Arrays.toString(stats.shape()));
        }
        if (kind == LossKind.LOGISTIC && k != 1) {
            throw new IllegalArgumentException("loss: LOGISTIC needs one output per sample, got output "
                    + Arrays.toString(output.shape()));
        }
        return k;
    }

    // ---- sequences -----------------------------------------------------------------------------------

    private static int rows(String op, String what, Tensor t) {
        if (t.rank() != 2) {
            throw new IllegalArgumentException(op + ": " + what + " " + Arrays.toString(t.shape()) + " must be a matrix");
        }
        return t.dim(0);
    }

    /** The width D of the table {@code [V, D]}. */
    public int embeddingForward(Tensor table, Tensor indices, Tensor out) {
        int d = embeddingWidth("embeddingForward", "table", table, "out", out, indices);
        noAlias("embeddingForward", "out", out, "table", table);
        noAlias("embeddingForward", "out", out, "indices", indices);
        return d;
    }

    public int embeddingBackward(Tensor dOut, Tensor indices, Tensor dTable) {
        int d = embeddingWidth("embeddingBackward", "dTable", dTable, "dOut", dOut, indices);
        noAlias("embeddingBackward", "dTable", dTable, "dOut", dOut);
        noAlias("embeddingBackward", "dTable", dTable, "indices", indices);
        return d;
    }

    /** The width D of a table {@code [V, D]} whose looked-up rows, one per index, are {@code vectors [n, D]}. */
    private static int embeddingWidth(String op, String tableName, Tensor table, String vectorsName, Tensor vectors,
                                      Tensor indices) {
        rows(op, tableName, table);
        int d = table.dim(1);
        expectSize(op, vectorsName, vectors, (long) indices.size() * d, "[n, D] = [" + indices.size() + ", " + d + "]");
        return d;
    }

    /** The hidden size H of {@code a [n, 4H]}. */
    private static int lstmHidden(String op, String what, Tensor t) {
        int n = rows(op, what, t);
        if (t.dim(1) % 4 != 0) {
            throw new IllegalArgumentException(op + ": " + what + " " + Arrays.toString(t.shape())
                    + " must be [n, 4H] (the gates i, f, o, g side by side)");
        }
        return n == 0 ? 0 : t.dim(1) / 4;
    }

    /** The layout {@code (n, H, 1)} of the cell. */
    public Channels lstmCellForward(Tensor a, Tensor cPrev, Tensor gates, Tensor c, Tensor h) {
        String op = "lstmCellForward";
        int hidden = lstmHidden(op, "a", a);
        int n = a.dim(0);
        String cell = "[n, H] = [" + n + ", " + hidden + "]";
        sameSize(op, "gates", gates, "a", a);
        expectSize(op, "cPrev", cPrev, (long) n * hidden, cell);
        expectSize(op, "c", c, (long) n * hidden, cell);
        expectSize(op, "h", h, (long) n * hidden, cell);
        for (Tensor in : new Tensor[] {a, cPrev}) {
            noAlias(op, "c", c, in == a ? "a" : "cPrev", in);
            noAlias(op, "h", h, in == a ? "a" : "cPrev", in);
        }
        noAlias(op, "gates", gates, "cPrev", cPrev);
        noAlias(op, "h", h, "c", c);
        return new Channels(n, hidden, 1);
    }

    public Channels lstmCellBackward(Tensor gates, Tensor cPrev, Tensor c, Tensor dh, Tensor dc, Tensor da,
                                     Tensor dcPrev) {
        String op = "lstmCellBackward";
        int hidden = lstmHidden(op, "gates", gates);
        int n = gates.dim(0);
        String cell = "[n, H] = [" + n + ", " + hidden + "]";
        for (Object[] t : new Object[][] {{"cPrev", cPrev}, {"c", c}, {"dh", dh}, {"dcPrev", dcPrev}}) {
            expectSize(op, (String) t[0], (Tensor) t[1], (long) n * hidden, cell);
        }
        if (dc != null) {
            expectSize(op, "dc", dc, (long) n * hidden, cell);
        }
        sameSize(op, "da", da, "gates", gates);
        for (Object[] t : new Object[][] {{"gates", gates}, {"cPrev", cPrev}, {"c", c}, {"dh", dh}}) {
            noAlias(op, "da", da, (String) t[0], (Tensor) t[1]);
            noAlias(op, "dcPrev", dcPrev, (String) t[0], (Tensor) t[1]);
        }
        if (dc != null) {
            noAlias(op, "da", da, "dc", dc);
        }
        noAlias(op, "dcPrev", dcPrev, "da", da);
        return new Channels(n, hidden, 1);
    }

    /** The row length k of {@code scores [n, k]}. */
    public int argmax(Tensor scores, Tensor indices) {
        if (scores.rank() < 2) {
            throw new IllegalArgumentException("argmax: scores " + Arrays.toString(scores.shape()) + " must be [n, k]");
        }
        int n = scores.dim(0);
        expectSize("argmax", "indices", indices, n, "one per row of scores " + Arrays.toString(scores.shape()));
        noAlias("argmax", "indices", indices, "scores", scores);
        if (n > 0 && scores.size() == 0) {
            throw new IllegalArgumentException("argmax: scores " + Arrays.toString(scores.shape()) + " have empty rows");
        }
        return n == 0 ? 0 : scores.size() / n;
    }

    // ---- optimizers ----------------------------------------------------------------------------------

    /** velocity is checked (and may be null) only with momentum. */
    public static void sgdUpdate(Tensor w, Tensor g, Tensor velocity, float momentum) {
        sameSize("sgdUpdate", "g", g, "w", w);
        if (momentum != 0f) {
            sameSize("sgdUpdate", "velocity", velocity, "w", w);
        }
    }

    public static void rmspropUpdate(Tensor w, Tensor g, Tensor squareAvg) {
        sameSize("rmspropUpdate", "g", g, "w", w);
        sameSize("rmspropUpdate", "squareAvg", squareAvg, "w", w);
    }

    public static void adamUpdate(Tensor w, Tensor g, Tensor m, Tensor v, long step) {
        sameSize("adamUpdate", "g", g, "w", w);
        sameSize("adamUpdate", "m", m, "w", w);
        sameSize("adamUpdate", "v", v, "w", w);
        if (step < 1) {
            throw new IllegalArgumentException("adamUpdate: step is 1-based, got " + step);
        }
    }
}
