// Device helpers shared by the loss kernels, kiln_loss (kernels.cu) and kiln_temporal_softmax_loss
// (sequences.cuh): one sample's softmax cross-entropy and the block's fixed-order sum of its threads' figures;
// and the row argmax that kiln_loss's accuracy and the kiln_argmax kernel (sequences.cuh) share.
// Included by kernels.cu before sequences.cuh.

// The first j with the largest v[j] of the k scores v (a NaN never wins after the first score).
__device__ __forceinline__ int kiln_argmax(const float* v, int k) {
    int arg = 0;
    float m = v[0];
    for (int j = 1; j < k; j++) {
        if (v[j] > m) {
            m = v[j];
            arg = j;
        }
    }
    return arg;
}

// One sample's softmax cross-entropy over the k scores o against class y: adds its loss (in double) to lossSum
// and 1 to correct when the first largest score is y's; when hasGrad writes the row's gradient to g, the
// softmax minus the one-hot label, times invN.
__device__ __forceinline__ void kiln_softmax_ce_row(const float* o, int k, int y, int hasGrad, float* g,
                                                    float invN, double& lossSum, int& correct) {
    float mx = -INFINITY;
    int arg = 0;
    for (int j = 0; j < k; j++) {
        if (o[j] > mx) {
            mx = o[j];
            arg = j;
        }
    }
    double sum = 0.0;
    for (int j = 0; j < k; j++) {
        sum += exp((double) (o[j] - mx));
    }
    double lse = (double) mx + log(sum);
    lossSum += lse - (double) o[y];
    if (arg == y) correct++;
    if (hasGrad) {
        for (int j = 0; j < k; j++) {
            float p = (float) exp((double) o[j] - lse);
            g[j] = (p - (j == y ? 1.f : 0.f)) * invN;
        }
    }
}

// Sums the block's per-thread loss sums and correct counts in a fixed tree (the same order whatever the
// timing) into lossPart[0] and correctPart[0]; every thread of the block must call it. blockDim.x is a power
// of two of at most 256, the size of the shared arrays.
__device__ __forceinline__ void kiln_block_sum(double* lossPart, int* correctPart, double lossSum, int correct) {
    lossPart[threadIdx.x] = lossSum;
    correctPart[threadIdx.x] = correct;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) {
            lossPart[threadIdx.x] += lossPart[threadIdx.x + stride];
            correctPart[threadIdx.x] += correctPart[threadIdx.x + stride];
        }
        __syncthreads();
    }
}
