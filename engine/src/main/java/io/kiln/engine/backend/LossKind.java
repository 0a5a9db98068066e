package io.kiln.engine.backend;

/**
 * The losses a backend computes fused with their gradient. Outputs are {@code [n, k]}; labels are class
 * indices stored as floats, {@code [n]}. Each loss is the mean over the batch of a per-sample loss.
 */
public enum LossKind {
    /** -log softmax(s)_y. Correct when argmax s == y. */
    SOFTMAX_CROSS_ENTROPY,
    /** Multiclass SVM (Weston-Watkins): sum over j != y of max(0, s_j - s_y + 1). Correct when argmax s == y. */
    MULTICLASS_HINGE,
    /**
     * Binary logistic regression on one output z (k == 1) and labels 0 or 1: log(1 + e^-z) for y = 1,
     * log(1 + e^z) for y = 0. Correct when (z &gt; 0) == (y == 1).
     */
    LOGISTIC,
    /**
     * Mean squared error averaged over the k outputs: (1/k) sum_j (s_j - t_j)^2 with t the one-hot vector of
     * y when k &gt; 1, or t = y itself when k == 1. Correct when argmax s == y (k &gt; 1) or round(s) == y (k == 1).
     */
    MSE,
    /**
     * One time step of the temporal softmax loss of a sequence model: softmax cross-entropy, except that label 0
     * ({@code <NULL>}, the padding after a caption's end) counts for nothing: no loss, a zero gradient row, not a
     * prediction. The gradient is still divided by n (the number of captions), so the per-step calls of a
     * sequence, accumulated into one stats slot, give the mean over captions of each caption's summed loss.
     * Correct when argmax s == y, counted over the non-null labels only.
     */
    TEMPORAL_SOFTMAX;

    /**
     * Whether a model trained with this loss reports probabilities (the softmax, or for logistic the positive
     * class's sigmoid) rather than raw scores.
     */
    public boolean givesProbabilities() {
        return this == SOFTMAX_CROSS_ENTROPY || this == LOGISTIC;
    }
}
