// Kiln's own CUDA kernels: the operations of io.kiln.engine.backend.Backend that cuBLAS and cuDNN do not
// cover (or do not cover with the exact semantics of the CPU reference backend).
//
// Built to PTX by ../../../build-ptx.sh (nvcc --ptx -arch=compute_75 -fmad=false) and loaded by the CUDA
// backend with cuModuleLoadData. -fmad=false keeps every a * b + c as a separate multiply and add, as Java
// evaluates it, so the elementwise kernels and the optimizer updates match the CPU backend bit for bit.
//
// Conventions: every kernel is extern "C" (unmangled names), sizes are int (a tensor has at most 2^31 - 1
// elements), loops are grid-stride over 64-bit indices, and the launch configuration is chosen by the Java
// side (engine/.../backend/cuda/KernelLauncher.java): 1-D grids of 256 threads unless a kernel says otherwise.

#include "counter_random.cuh"

#define GRID_STRIDE(i, n) \
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (long long) (n); \
         i += (long long) blockDim.x * gridDim.x)

// the loss kernels' shared row and block-sum helpers
#include "loss_rows.cuh"

// the sequence models' kernels (word embeddings, the LSTM cell, the temporal softmax loss, argmax)
#include "sequences.cuh"

// ---- elementwise ---------------------------------------------------------------------------------------

extern "C" __global__ void kiln_add(const float* a, const float* b, float* out, int n) {
    GRID_STRIDE(i, n) { out[i] = a[i] + b[i]; }
}

extern "C" __global__ void kiln_multiply(const float* a, const float* b, float* out, int n) {
    GRID_STRIDE(i, n) { out[i] = a[i] * b[i]; }
}

// y += alpha * x
extern "C" __global__ void kiln_axpy(float alpha, const float* x, float* y, int n) {
    GRID_STRIDE(i, n) { y[i] += alpha * x[i]; }
}

// x *= alpha
extern "C" __global__ void kiln_scale(float* x, float alpha, int n) {
    GRID_STRIDE(i, n) { x[i] *= alpha; }
}

// ---- bias ----------------------------------------------------------------------------------------------

// 32-bit grid-stride loop: every tensor has fewer than 2^31 elements, so i + stride stays below 2^32, and
// the index arithmetic of the bias kernels (a divide and a modulo per element) stays in 32 bits.
#define GRID_STRIDE32(i, n) \
    for (unsigned int i = blockIdx.x * blockDim.x + threadIdx.x; i < (unsigned int) (n); \
         i += blockDim.x * gridDim.x)

// y[n, c, spatial] += bias[c]; total = n * c * spatial
extern "C" __global__ void kiln_add_bias(float* y, const float* bias, int c, int spatial, int total) {
    GRID_STRIDE32(i, total) { y[i] += bias[(i / (unsigned int) spatial) % (unsigned int) c]; }
}

// The bias gradient in two deterministic passes (BiasReduction.java is the CPU twin of this index math).
// Pass 1, grid (c, chunks): block (ch, q) sums the elements [q * chunkLen, min((q + 1) * chunkLen, count))
// of channel ch, count = n * spatial, element e being dy[(e / spatial * c + ch) * spatial + e % spatial];
// thread t takes e = start + t, start + t + 256, ... and the 256 partial sums are reduced in a fixed tree.
// The block's sum goes to partial[q * c + ch].
extern "C" __global__ void kiln_bias_partials(const float* dy, float* partial, int n, int c, int spatial,
                                              int chunkLen) {
    __shared__ float part[256];
    unsigned int ch = blockIdx.x, q = blockIdx.y;
    unsigned int count = (unsigned int) n * (unsigned int) spatial;
    unsigned int sp = (unsigned int) spatial, cc = (unsigned int) c;
    unsigned int start = q * (unsigned int) chunkLen;
    unsigned int end = min(count, start + (unsigned int) chunkLen);
    float s = 0.f;
    for (unsigned int e = start + threadIdx.x; e < end; e += blockDim.x) {
        unsigned int img = e / sp, p = e - img * sp;
        s += dy[(img * cc + ch) * sp + p];
    }
    part[threadIdx.x] = s;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) {
            part[threadIdx.x] += part[threadIdx.x + stride];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        partial[q * cc + ch] = part[0];
    }
}

// Pass 2, one thread per channel: db[ch] = the chunks' partial sums of the channel, added in chunk order.
extern "C" __global__ void kiln_bias_finish(const float* partial, float* db, int c, int chunks) {
    GRID_STRIDE32(ch, c) {
        float s = 0.f;
        for (int q = 0; q < chunks; q++) {
            s += partial[(unsigned int) q * (unsigned int) c + ch];
        }
        db[ch] = s;
    }
}

// ---- activations (derivatives from the output y alone) ------------------------------------------------

#define ACT_RELU 0
#define ACT_SIGMOID 1
#define ACT_TANH 2

extern "C" __global__ void kiln_activation_forward(int kind, const float* x, float* y, int n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        float r;
        if (kind == ACT_RELU) {
            r = v > 0.f ? v : 0.f;  // Math.max(x, 0f): NaN stays NaN
            if (v != v) r = v;
        } else if (kind == ACT_SIGMOID) {
            r = 1.f / (1.f + expf(-v));
        } else {
            r = tanhf(v);
        }
        y[i] = r;
    }
}

extern "C" __global__ void kiln_activation_backward(int kind, const float* y, const float* dy, float* dx, int n) {
    GRID_STRIDE(i, n) {
        float v = y[i];
        float g = dy[i];
        float r;
        if (kind == ACT_RELU) {
            r = v > 0.f ? g : 0.f;
        } else if (kind == ACT_SIGMOID) {
            r = g * v * (1.f - v);
        } else {
            r = g * (1.f - v * v);
        }
        dx[i] = r;
    }
}

// ---- dropout -------------------------------------------------------------------------------------------

// mask[i] = keep if uniform(seed, i) >= p else 0; y = x * mask. keep = 1 / (1 - p), computed by the caller.
extern "C" __global__ void kiln_dropout(const float* x, float* mask, float* y, float p, float keep,
                                        unsigned long long seed, int n) {
    GRID_STRIDE(i, n) {
        float m = kiln_uniform(seed, (unsigned long long) i) >= p ? keep : 0.f;
        mask[i] = m;
        y[i] = x[i] * m;
    }
}

// ---- pooling (one [h, w] plane per n * c; padded positions never win a max, count in an average) ------

#define POOL_MAX 0
#define POOL_AVG 1

// Element i of a stack of planes of rows x cols, as the pooling kernels' one thread per element finds it: the
// plane, the offset within the plane (row * cols + col), the row and the column.
struct PlanePosition {
    long long plane;
    int offset, row, col;
};

__device__ __forceinline__ PlanePosition kiln_plane_position(long long i, int rows, int cols) {
    long long area = (long long) rows * cols;
    PlanePosition p;
    p.plane = i / area;
    p.offset = (int) (i % area);
    p.row = p.offset / cols;
    p.col = p.offset % cols;
    return p;
}

// The first (row-major) maximum of a window, as an index into the plane, and the window's maximum as Java's
// Math.max computes it: a NaN anywhere in the window makes the maximum NaN (the CPU reference propagates it,
// so a diverging network shows on the GPU too), and no element after a NaN is chosen (e > NaN is false),
// exactly as the CPU backend routes the gradient.
__device__ __forceinline__ int kiln_window_argmax(const float* xp, int w, int hs, int he, int ws, int we,
                                                  float* maxOut) {
    int best = hs * w + ws;
    float v = xp[best];
    for (int iy = hs; iy < he; iy++) {
        for (int ix = ws; ix < we; ix++) {
            float e = xp[iy * w + ix];
            if (e > v) {
                best = iy * w + ix;
            }
            v = (e != e || v != v) ? __int_as_float(0x7fc00000) : fmaxf(v, e);
        }
    }
    *maxOut = v;
    return best;
}

// One thread per output element; total = planes * oh * ow.
extern "C" __global__ void kiln_pool_forward(int mode, const float* x, float* y, int planes, int h, int w,
                                             int oh, int ow, int wh, int ww, int sh, int sw, int ph, int pw) {
    float invArea = 1.f / (float) (wh * ww);
    long long total = (long long) planes * oh * ow;
    GRID_STRIDE(i, total) {
        PlanePosition out = kiln_plane_position(i, oh, ow);
        int h0 = out.row * sh - ph, w0 = out.col * sw - pw;
        int hs = max(h0, 0), he = min(h0 + wh, h);
        int ws = max(w0, 0), we = min(w0 + ww, w);
        const float* xp = x + out.plane * h * w;
        float v;
        if (mode == POOL_MAX) {
            kiln_window_argmax(xp, w, hs, he, ws, we, &v);
        } else {
            float sum = 0.f;
            for (int iy = hs; iy < he; iy++) {
                for (int ix = ws; ix < we; ix++) {
                    sum += xp[iy * w + ix];
                }
            }
            v = sum * invArea;
        }
        y[i] = v;
    }
}

// One thread per input element (a gather: no atomics, and the contributions of overlapping windows are
// added in the same (py, px) order as the CPU backend adds them); total = planes * h * w.
extern "C" __global__ void kiln_pool_backward(int mode, const float* x, const float* dy, float* dx, int planes,
                                              int h, int w, int oh, int ow, int wh, int ww, int sh, int sw,
                                              int ph, int pw) {
    float invArea = 1.f / (float) (wh * ww);
    long long total = (long long) planes * h * w;
    GRID_STRIDE(i, total) {
        PlanePosition in = kiln_plane_position(i, h, w);
        int iy = in.row, ix = in.col;
        // windows py with py * sh - ph <= iy < py * sh - ph + wh
        int lo = iy + ph - wh + 1;
        int pyLo = lo <= 0 ? 0 : (lo + sh - 1) / sh;
        int pyHi = min((iy + ph) / sh, oh - 1);
        int lox = ix + pw - ww + 1;
        int pxLo = lox <= 0 ? 0 : (lox + sw - 1) / sw;
        int pxHi = min((ix + pw) / sw, ow - 1);
        const float* xp = x + in.plane * h * w;
        const float* dyp = dy + in.plane * oh * ow;
        float acc = 0.f;
        for (int py = pyLo; py <= pyHi; py++) {
            int h0 = py * sh - ph;
            int hs = max(h0, 0), he = min(h0 + wh, h);
            for (int px = pxLo; px <= pxHi; px++) {
                float d = dyp[py * ow + px];
                if (mode == POOL_MAX) {
                    int w0 = px * sw - pw;
                    int ws = max(w0, 0), we = min(w0 + ww, w);
                    float unused;
                    if (kiln_window_argmax(xp, w, hs, he, ws, we, &unused) == in.offset) {
                        acc += d;
                    }
                } else {
                    acc += d * invArea;
                }
            }
        }
        dx[i] = acc;
    }
}

// ---- losses fused with their gradient (LossKind) -------------------------------------------------------

#define LOSS_SOFTMAX_CE 0
#define LOSS_HINGE 1
#define LOSS_LOGISTIC 2
#define LOSS_MSE 3

// Java's Math.round(float): the closest integer, ties towards positive infinity.
__device__ __forceinline__ float kiln_java_round(float x) {
    float f = floorf(x);
    return (x - f >= 0.5f) ? f + 1.f : f;
}

// Pass 1 of the fused loss, on any number of blocks of 256 threads (LossReduction.java is its CPU twin):
// thread t of block b takes samples b * 256 + t, then + gridDim.x * 256, ...; each block reduces its
// threads' loss sums (in double) and correct counts in a fixed tree and writes them to partial[2 * b] and
// partial[2 * b + 1] (doubles), so the result does not depend on timing. Writes grad = d(mean loss)/d(output)
// when hasGrad. A label that is not a class index (the CPU backend rejects those) adds NaN to the loss and
// leaves a zero gradient row. kiln_loss_finish adds the blocks' sums into stats.
extern "C" __global__ void kiln_loss(int kind, const float* out, const float* labels, float* grad, double* partial,
                                     int n, int k, int hasGrad) {
    __shared__ double lossPart[256];
    __shared__ int correctPart[256];
    bool regression = kind == LOSS_MSE && k == 1;
    int classes = kind == LOSS_LOGISTIC ? 2 : k;
    float invN = 1.f / (float) n;
    double lossSum = 0.0;
    int correct = 0;
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
        const float* o = out + (long long) i * k;
        float* g = hasGrad ? grad + (long long) i * k : (float*) 0;
        float label = labels[i];
        if (!regression && !(label >= 0.f && label < (float) classes && label == rintf(label))) {
            lossSum += __longlong_as_double(0x7ff8000000000000LL);  // NaN
            if (hasGrad) {
                for (int j = 0; j < k; j++) g[j] = 0.f;
            }
            continue;
        }
        int y = regression ? 0 : (int) label;
        if (kind == LOSS_SOFTMAX_CE) {
            kiln_softmax_ce_row(o, k, y, hasGrad, g, invN, lossSum, correct);
        } else if (kind == LOSS_HINGE) {
            float sy = o[y];
            double l = 0.0;
            int active = 0;
            int arg = kiln_argmax(o, k);
            for (int j = 0; j < k; j++) {
                if (j == y) continue;
                float margin = o[j] - sy + 1.f;
                bool on = margin > 0.f;
                if (on) {
                    l += (double) margin;
                    active++;
                }
                if (hasGrad) g[j] = on ? invN : 0.f;
            }
            if (hasGrad) g[y] = (float) (-active) * invN;
            lossSum += l;
            if (arg == y) correct++;
        } else if (kind == LOSS_LOGISTIC) {
            float z = o[0];
            bool positive = y == 1;
            double t = positive ? -(double) z : (double) z;  // loss = softplus(t)
            lossSum += fmax(t, 0.0) + log1p(exp(-fabs(t)));
            if ((z > 0.f) == positive) correct++;
            if (hasGrad) {
                double zd = (double) z;
                double sig = z >= 0.f ? 1.0 / (1.0 + exp(-zd)) : exp(zd) / (1.0 + exp(zd));
                g[0] = (float) ((sig - (positive ? 1.0 : 0.0)) * (double) invN);
            }
        } else {  // LOSS_MSE
            double l = 0.0;
            float gscale = 2.f / ((float) k * (float) n);
            for (int j = 0; j < k; j++) {
                float t = regression ? label : (j == y ? 1.f : 0.f);
                float d = o[j] - t;
                l += (double) d * (double) d;
                if (hasGrad) g[j] = d * gscale;
            }
            lossSum += l / (double) k;
            bool ok = regression ? kiln_java_round(o[0]) == label : kiln_argmax(o, k) == y;
            if (ok) correct++;
        }
    }
    kiln_block_sum(lossPart, correctPart, lossSum, correct);
    if (threadIdx.x == 0) {
        partial[2 * blockIdx.x] = lossPart[0];
        partial[2 * blockIdx.x + 1] = (double) correctPart[0];
    }
}

// Pass 2, one thread: the blocks' sums added in block order, then into stats[2 * slot] (the batch's loss sum)
// and stats[2 * slot + 1] (its number of correct predictions).
extern "C" __global__ void kiln_loss_finish(const double* partial, int blocks, float* stats, int slot) {
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        double loss = 0.0, correct = 0.0;
        for (int b = 0; b < blocks; b++) {
            loss += partial[2 * b];
            correct += partial[2 * b + 1];
        }
        stats[2 * slot] += (float) loss;
        stats[2 * slot + 1] += (float) correct;
    }
}

// ---- optimizer updates (weight decay is L2 added to the gradient) --------------------------------------

// variant 0: plain SGD (v unused, may be null); 1: momentum; 2: Nesterov momentum.
extern "C" __global__ void kiln_sgd(float* w, const float* g, float* v, float lr, float momentum, float wd,
                                    int variant, int n) {
    GRID_STRIDE(i, n) {
        float gi = g[i] + wd * w[i];
        if (variant == 0) {
            w[i] -= lr * gi;
        } else {
            float vi = momentum * v[i] + gi;
            v[i] = vi;
            if (variant == 2) {
                w[i] -= lr * (gi + momentum * vi);
            } else {
                w[i] -= lr * vi;
            }
        }
    }
}

extern "C" __global__ void kiln_rmsprop(float* w, const float* g, float* s, float lr, float alpha, float eps,
                                        float wd, int n) {
    GRID_STRIDE(i, n) {
        float gi = g[i] + wd * w[i];
        float si = alpha * s[i] + (1.f - alpha) * gi * gi;
        s[i] = si;
        w[i] -= lr * gi / (sqrtf(si) + eps);
    }
}

// c1 = 1 - beta1^t and c2 = 1 - beta2^t, computed by the caller in double and rounded to float.
extern "C" __global__ void kiln_adam(float* w, const float* g, float* m, float* v, float lr, float beta1,
                                     float beta2, float eps, float wd, float c1, float c2, int n) {
    GRID_STRIDE(i, n) {
        float gi = g[i] + wd * w[i];
        float mi = beta1 * m[i] + (1.f - beta1) * gi;
        float vi = beta2 * v[i] + (1.f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        w[i] -= lr * (mi / c1) / (sqrtf(vi / c2) + eps);
    }
}
