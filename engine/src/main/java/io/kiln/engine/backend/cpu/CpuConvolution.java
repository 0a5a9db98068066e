package io.kiln.engine.backend.cpu;

import io.kiln.engine.backend.ConvGeometry;

/**
 * Convolutions as matrix products, one image at a time: im2col fused into the packing of op(B) forward,
 * col2im after {@code w^T dy} backward, im2col then {@code dy col^T} for the filter gradient. Images are
 * spread over the threads when there are enough of them, else each product goes parallel. See
 * {@code docs/cpu-backend.md}.
 */
record CpuConvolution(ParallelLoops loops, ParallelGemm gemm) {
    private static boolean isPointwise(ConvGeometry g) {
        return g.kernelH() == 1 && g.kernelW() == 1 && g.strideH() == 1 && g.strideW() == 1
                && g.padH() == 0 && g.padW() == 0;
    }

    /** Images claimed at a time: about four claims per thread, so a delayed thread can be made up for. */
    private static int imageGrain(int n, int chunks) {
        return Math.max(1, n / (4 * Math.max(1, chunks)));
    }

    /** Whether one call should spread its images over the threads (else each product may go parallel). */
    private boolean imagesInParallel(int chunks, int n) {
        return chunks > 1 && n >= loops.threads();
    }

    /** y = conv(x, w) on arrays: per image, y_img [k, outH*outW] = w [k, c*kh*kw] * columns(x_img). */
    void forward(ConvGeometry g, float[] xd, float[] wd, float[] yd) {
        int crs = g.c() * g.kernelH() * g.kernelW(), ohw = g.outH() * g.outW();
        int inSize = g.c() * g.h() * g.w(), outSize = g.k() * ohw;
        boolean pointwise = isPointwise(g);
        int chunks = loops.chunks(g.n(), g.macs());
        boolean byImage = imagesInParallel(chunks, g.n());
        loops.parallelDynamic(g.n(), byImage ? chunks : 1, imageGrain(g.n(), chunks), (ci, from, to) -> {
            for (int img = from; img < to; img++) {
                Gemm.BPanel cols = pointwise ? new Gemm.MatrixB(false, ohw, crs, xd, img * inSize)
                        : new Im2col.Columns(g, xd, img * inSize);
                gemm.gemm(false, g.k(), ohw, crs, 1f, wd, 0, cols, 0f, yd, img * outSize, !byImage);
            }
        });
    }

    /** dx: per image, dcol [c*kh*kw, outH*outW] = w^T * dy_img, scattered back into dx by col2im. */
    void backwardData(ConvGeometry g, float[] wd, float[] dyd, float[] dxd) {
        int c = g.c(), k = g.k(), kh = g.kernelH(), kw = g.kernelW();
        int crs = c * kh * kw, ohw = g.outH() * g.outW();
        int inSize = c * g.h() * g.w(), outSize = k * ohw;
        boolean pointwise = isPointwise(g);
        int chunks = loops.chunks(g.n(), g.macs());
        boolean byImage = imagesInParallel(chunks, g.n());
        loops.parallelDynamic(g.n(), byImage ? chunks : 1, imageGrain(g.n(), chunks), (ci, from, to) -> {
            for (int img = from; img < to; img++) {
                if (pointwise) {
                    gemm.gemm(true, false, crs, ohw, k, 1f, wd, 0, dyd, img * outSize, 0f, dxd, img * inSize, !byImage);
                } else {
                    float[] dcol = gemm.scratch().col(crs * ohw);
                    gemm.gemm(true, false, crs, ohw, k, 1f, wd, 0, dyd, img * outSize, 0f, dcol, 0, !byImage);
                    Im2col.col2im(g, dcol, dxd, img * inSize);
                }
            }
        });
    }

    /** dw = the sum over images of dy_img [k, ohw] * columns(x_img)^T. */
    void backwardFilter(ConvGeometry g, float[] xd, float[] dyd, float[] dwd) {
        int k = g.k(), crs = g.c() * g.kernelH() * g.kernelW(), ohw = g.outH() * g.outW();
        int inSize = g.c() * g.h() * g.w(), outSize = k * ohw;
        int filterSize = k * crs;
        boolean pointwise = isPointwise(g);
        // few filter taps (a first layer): make the filters the long side, dw^T [crs, k] = columns * dy^T
        boolean swapped = crs < k && crs < 64;
        int chunks = loops.chunks(g.n(), g.macs());
        boolean byImage = imagesInParallel(chunks, g.n());
        // The images go in fixed blocks, each summed into its own buffer (block 0 straight into dw unless
        // swapped), and the buffers are added in block order: which thread ran a block does not change the
        // result. Up to four blocks per thread, fewer when the filters are large.
        int blocks = 1;
        if (byImage) {
            long budget = (64L << 20) / 4 / Math.max(1, filterSize);
            blocks = (int) Math.min(g.n(), Math.max(chunks, Math.min(4L * chunks, budget)));
        }
        int grain = (g.n() + blocks - 1) / blocks;
        int nBlocks = (g.n() + grain - 1) / grain;
        float[][] partial = new float[nBlocks][];
        loops.parallelDynamic(g.n(), byImage ? chunks : 1, grain, (ci, from, to) -> {
            int block = from / grain;
            float[] acc = partial[block] = block == 0 && !swapped ? dwd : new float[filterSize];
            for (int img = from; img < to; img++) {
                float beta = img == from ? 0f : 1f;
                float[] col;
                int colOff;
                if (pointwise) {
                    col = xd;
                    colOff = img * inSize;
                } else {
                    col = gemm.scratch().col(crs * ohw);
                    colOff = 0;
                    Im2col.im2col(g, xd, img * inSize, col);
                }
                if (swapped) {
                    gemm.gemm(false, true, crs, k, ohw, 1f, col, colOff, dyd, img * outSize, beta, acc, 0, !byImage);
                } else {
                    // dw [k, crs] (+)= dy_img [k, ohw] * col^T [ohw, crs]
                    gemm.gemm(false, true, k, crs, ohw, 1f, dyd, img * outSize, col, colOff, beta, acc, 0, !byImage);
                }
            }
        });
        if (swapped) {
            for (int f = 0; f < k; f++) {
                for (int j = 0; j < crs; j++) {
                    float sum = 0f;
                    for (float[] p : partial) {
                        sum += p[j * k + f];
                    }
                    dwd[f * crs + j] = sum;
                }
            }
        } else {
            for (int t = 1; t < nBlocks; t++) {
                float[] p = partial[t];
                for (int i = 0; i < filterSize; i++) {
                    dwd[i] += p[i];
                }
            }
        }
    }
}
