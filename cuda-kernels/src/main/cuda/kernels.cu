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

// y[n, c, spatial] += bias[c]; total = n * c * spatial
extern "C" __global__ void kiln_add_bias(float* y, const float* bias, int c, int spatial, int total) {
    GRID_STRIDE(i, total) { y[i] += bias[(int) ((i / spatial) % c)]; }
}

// db[ch] = sum over n and spatial of dy[n, ch, spatial]; one block per channel (grid = c), 256 threads.
extern "C" __global__ void kiln_bias_backward(const float* dy, float* db, int n, int c, int spatial) {
    __shared__ float partial[256];
    int ch = blockIdx.x;
    long long count = (long long) n * spatial;
    float s = 0.f;
    for (long long j = threadIdx.x; j < count; j += blockDim.x) {
        long long img = j / spatial, p = j % spatial;
        s += dy[(img * c + ch) * spatial + p];
    }
    partial[threadIdx.x] = s;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) {
            partial[threadIdx.x] += partial[threadIdx.x + stride];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        db[ch] = partial[0];
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

// The first (row-major) maximum of a window, as an index into the plane.
__device__ __forceinline__ int kiln_window_argmax(const float* xp, int w, int hs, int he, int ws, int we) {
    int best = hs * w + ws;
    float v = xp[best];
    for (int iy = hs; iy < he; iy++) {
        for (int ix = ws; ix < we; ix++) {
            float e = xp[iy * w + ix];
            if (e > v) {
                v = e;
                best = iy * w + ix;
            }
        }
    }
    return best;
}

// One thread per output element; total = planes * oh * ow.
extern "C" __global__ void kiln_pool_forward(int mode, const float* x, float* y, int planes, int h, int w,
                                             int oh, int ow, int wh, int ww, int sh, int sw, int ph, int pw) {
    float invArea = 1.f / (float) (wh * ww);
    long long total = (long long) planes * oh * ow;
    GRID_STRIDE(i, total) {
        long long pl = i / ((long long) oh * ow);
        int r = (int) (i % ((long long) oh * ow));
        int py = r / ow, px = r % ow;
        int h0 = py * sh - ph, w0 = px * sw - pw;
        int hs = max(h0, 0), he = min(h0 + wh, h);
        int ws = max(w0, 0), we = min(w0 + ww, w);
        const float* xp = x + pl * h * w;
        float v;
        if (mode == POOL_MAX) {
            v = xp[kiln_window_argmax(xp, w, hs, he, ws, we)];
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
        long long pl = i / ((long long) h * w);
        int r = (int) (i % ((long long) h * w));
        int iy = r / w, ix = r % w;
        // windows py with py * sh - ph <= iy < py * sh - ph + wh
        int lo = iy + ph - wh + 1;
        int pyLo = lo <= 0 ? 0 : (lo + sh - 1) / sh;
        int pyHi = min((iy + ph) / sh, oh - 1);
        int lox = ix + pw - ww + 1;
        int pxLo = lox <= 0 ? 0 : (lox + sw - 1) / sw;
        int pxHi = min((ix + pw) / sw, ow - 1);
        const float* xp = x + pl * h * w;
        const float* dyp = dy + pl * oh * ow;
        float acc = 0.f;
        for (int py = pyLo; py <= pyHi; py++) {
            int h0 = py * sh - ph;
            int hs = max(h0, 0), he = min(h0 + wh, h);
            for (int px = pxLo; px <= pxHi; px++) {
                float d = dyp[py * ow + px];
                if (mode == POOL_MAX) {
                    int w0 = px * sw - pw;
                    int ws = max(w0, 0), we = min(w0 + ww, w);
                    if (kiln_window_argmax(xp, w, hs, he, ws, we) == r) {
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

// Java's Math.round(float): the closest integer, ties towards positive infinity.
__device__ __forceinline__ float kiln_java_round(float x) {
    float f = floorf(x);
    return (x - f >= 0.5f) ? f + 1.f : f;
}

// One block of 256 threads in all (grid = 1): each thread takes samples tid, tid + 256, ...; the per-sample
// losses are summed in double and reduced in a fixed order, so the result does not depend on timing. Adds
// the batch's loss sum to stats[2 * slot] and its number of correct predictions to stats[2 * slot + 1];
// writes grad = d(mean loss)/d(output) when hasGrad. A label that is not a class index (the CPU backend
// rejects those) adds NaN to the loss and leaves a zero gradient row.
extern "C" __global__ void kiln_loss(int kind, const float* out, const float* labels, float* grad, float* stats,
                                     int n, int k, int slot, int hasGrad) {
    __shared__ double lossPart[256];
    __shared__ int correctPart[256];
    bool regression = kind == LOSS_MSE && k == 1;
    int classes = kind == LOSS_LOGISTIC ? 2 : k;
    float invN = 1.f / (float) n;
    double lossSum = 0.0;
    int correct = 0;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
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
    if (threadIdx.x == 0) {
        stats[2 * slot] += (float) lossPart[0];
        stats[2 * slot + 1] += (float) correctPart[0];
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
