// Kiln's kernels for sequence models (image captioning): word embeddings, the LSTM cell's gate arithmetic, the
// temporal softmax loss and greedy decoding's argmax. Included by kernels.cu after GRID_STRIDE and loss_rows.cuh; the same
// conventions (extern "C", int sizes, grid-stride loops, -fmad=false) and the same semantics as the CPU backend
// (engine/.../backend/cpu/CpuSequences.java and CpuLosses.java). Matrix products stay with cuBLAS.

// A word index (stored as a float, as labels are) that names a row of a table of v rows, or -1.
__device__ __forceinline__ int kiln_word_index(float f, int v) {
    return (f >= 0.f && f < (float) v && f == rintf(f)) ? (int) f : -1;
}

// out[i, :] = table[indices[i], :] for table [v, d], indices [n], out [n, d]; total = n * d. An index outside
// [0, v) (the CPU backend rejects those) gives a row of NaN, which the loss then reports.
extern "C" __global__ void kiln_embedding_forward(const float* table, const float* indices, float* out, int n, int d,
                                                  int v) {
    long long total = (long long) n * d;
    GRID_STRIDE(e, total) {
        int row = (int) (e / d);
        int col = (int) (e % d);
        int w = kiln_word_index(indices[row], v);
        out[e] = w < 0 ? __int_as_float(0x7fc00000) : table[(long long) w * d + col];
    }
}

// dTable[indices[i], :] += dOut[i, :]. One thread per column, which adds the rows in the order i = 0, 1, ... as
// the CPU does: no atomics, so repeated words sum to the same bits on both backends. Bad indices are skipped
// (the forward pass already made their loss NaN).
extern "C" __global__ void kiln_embedding_backward(const float* dOut, const float* indices, float* dTable, int n,
                                                   int d, int v) {
    GRID_STRIDE(col, d) {
        for (int i = 0; i < n; i++) {
            int w = kiln_word_index(indices[i], v);
            if (w >= 0) {
                dTable[(long long) w * d + col] += dOut[(long long) i * d + col];
            }
        }
    }
}

__device__ __forceinline__ float kiln_sigmoid(float x) {
    return 1.f / (1.f + expf(-x));
}

// The LSTM cell after its two matrix products: a [n, 4h] holds the pre-activations of the gates i, f, o, g (in
// that order, h columns each, per row). gates = (sigmoid(a_i), sigmoid(a_f), sigmoid(a_o), tanh(a_g)),
// c = f * cPrev + i * g, hOut = o * tanh(c). gates may be a. total = n * h.
extern "C" __global__ void kiln_lstm_forward(const float* a, const float* cPrev, float* gates, float* c, float* hOut,
                                             int n, int h) {
    long long total = (long long) n * h;
    GRID_STRIDE(e, total) {
        long long row = e / h;
        int j = (int) (e % h);
        long long b = row * 4 * h + j;
        float ig = kiln_sigmoid(a[b]);
        float fg = kiln_sigmoid(a[b + h]);
        float og = kiln_sigmoid(a[b + 2 * h]);
        float gg = tanhf(a[b + 3 * h]);
        gates[b] = ig;
        gates[b + h] = fg;
        gates[b + 2 * h] = og;
        gates[b + 3 * h] = gg;
        float cv = fg * cPrev[e] + ig * gg;
        c[e] = cv;
        hOut[e] = og * tanhf(cv);
    }
}

// The gradient of kiln_lstm_forward: from dh (of hOut) and dc (of c, from the next time step; null for none),
// da [n, 4h] (the gates' pre-activations) and dcPrev. tanh(c) is computed again rather than stored. dcPrev may
// be dc. total = n * h.
extern "C" __global__ void kiln_lstm_backward(const float* gates, const float* cPrev, const float* c, const float* dh,
                                              const float* dc, float* da, float* dcPrev, int n, int h) {
    long long total = (long long) n * h;
    GRID_STRIDE(e, total) {
        long long row = e / h;
        int j = (int) (e % h);
        long long b = row * 4 * h + j;
        float ig = gates[b], fg = gates[b + h], og = gates[b + 2 * h], gg = gates[b + 3 * h];
        float tc = tanhf(c[e]);
        float dhv = dh[e];
        float dct = (dc == 0 ? 0.f : dc[e]) + dhv * og * (1.f - tc * tc);
        da[b] = dct * gg * ig * (1.f - ig);
        da[b + h] = dct * cPrev[e] * fg * (1.f - fg);
        da[b + 2 * h] = dhv * tc * og * (1.f - og);
        da[b + 3 * h] = dct * ig * (1.f - gg * gg);
        dcPrev[e] = dct * fg;
    }
}

// indices[i] = the first j with the largest scores[i, j] (scores [n, k]), as a float. One thread per row.
extern "C" __global__ void kiln_argmax(const float* scores, float* indices, int n, int k) {
    GRID_STRIDE(i, n) {
        indices[i] = (float) kiln_argmax(scores + i * k, k);
    }
}

// One time step of the temporal softmax loss (LossKind.TEMPORAL_SOFTMAX): softmax cross-entropy over out [n, k]
// against labels [n], where label 0 (<NULL>, the padding after a caption's end) counts for nothing: no loss, a
// zero gradient row, not a prediction. The gradient is divided by n, the number of captions, so that the steps
// of a sequence add up to the mean over captions of each caption's summed loss. One block of 256 threads in
// all (grid = 1), per-sample figures summed in double and reduced in a fixed order, as kiln_loss does. A label
// that is not a class index adds NaN to the loss and leaves a zero gradient row.
extern "C" __global__ void kiln_temporal_softmax_loss(const float* out, const float* labels, float* grad,
                                                      float* stats, int n, int k, int slot, int hasGrad) {
    __shared__ double lossPart[256];
    __shared__ int correctPart[256];
    float invN = 1.f / (float) n;
    double lossSum = 0.0;
    int correct = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const float* o = out + (long long) i * k;
        float* g = hasGrad ? grad + (long long) i * k : (float*) 0;
        float label = labels[i];
        bool valid = label >= 0.f && label < (float) k && label == rintf(label);
        if (!valid || label == 0.f) {
            if (!valid) {
                lossSum += __longlong_as_double(0x7ff8000000000000LL);  // NaN
            }
            if (hasGrad) {
                for (int j = 0; j < k; j++) g[j] = 0.f;
            }
            continue;
        }
        int y = (int) label;
        kiln_softmax_ce_row(o, k, y, hasGrad, g, invN, lossSum, correct);
    }
    kiln_block_sum(lossPart, correctPart, lossSum, correct);
    if (threadIdx.x == 0) {
        stats[2 * slot] += (float) lossPart[0];
        stats[2 * slot + 1] += (float) correctPart[0];
    }
}
