package io.kiln.engine.backend.cpu;

import io.kiln.engine.backend.ConvGeometry;

/**
 * Convolutions as matrix products, one image at a time: im2col fused into the packing of op(B) forward,
 * col2im after {@code w^T dy} backward, im2col then {@code dy col^T} for the filter gradient; small feature
 * maps a group of images at a time, side by side in one column matrix ({@link #groupSize}). Images (groups)
 * are spread over the threads when there are enough of them, else each product goes parallel. With {@code
 * vector}, convolutions that {@link VectorConvolution} supports (stride 1 or 2) run there instead, forward and
 * filter gradient directly and, with stride 1, the data gradient as the forward convolution of dy ({@link
 * #dataGradientAsForward}).
 * Given {@code onednn}, the passes of layers with many channels that {@link OneDnnConvolution#suits} run on
 * oneDNN instead where its natives load. See {@code docs/cpu-backend.md}.
 */
record CpuConvolution(ParallelLoops loops, ParallelGemm gemm, boolean vector, OneDnnConvolution onednn) {
    /**
     * Output pixels one product should span at least. A small feature map (VGG's 4x4 and 2x2, ResNet's 8x8)
     * gives a product only 4 to 64 columns, the length of the kernel's vectorised loop, and a filter gradient
     * whose depth is those few pixels: per image that ran at a few GFLOP/s. Below this many pixels, images
     * are put side by side in one column matrix (a "group") and multiplied at once.
     */
    static final int MIN_COLUMNS = Math.max(1, Integer.getInteger("kiln.cpu.convColumns", 512));
    /** Largest column matrix of a group, in floats (per thread): bounds the group's memory. */
    static final int MAX_GROUP_FLOATS = 1 << 22;

    /**
     * Images per group: enough for MIN_COLUMNS output pixels, within MAX_GROUP_FLOATS, and no more than gives
     * each of the threads a group of its own; 1 for large maps. The last rule is for the smallest maps (VGG's
     * 2x2: 128 wanted of a batch of 128): as one group, its im2col, col2im and output scatter ran on one thread
     * while only the product was split, and the layer gained 1.05-1.1x from a second thread.
     */
    static int groupSize(ConvGeometry g, int threads) {
        int ohw = g.outH() * g.outW(), crs = g.c() * g.kernelH() * g.kernelW();
        if (ohw == 0 || ohw >= MIN_COLUMNS || g.n() < 2) {
            return 1;
        }
        int wanted = Math.min(Math.ceilDiv(MIN_COLUMNS, ohw), Math.ceilDiv(g.n(), Math.max(1, threads)));
        long fit = MAX_GROUP_FLOATS / Math.max(1L, (long) Math.max(crs, g.k()) * ohw);
        return (int) Math.max(1, Math.min(Math.min(wanted, g.n()), fit));
    }

    /** col [crs, cnt*ohw] = the column matrices of images [i0, i0 + cnt) side by side. */
    private static void im2colGroup(ConvGeometry g, float[] xd, int i0, int cnt, float[] col) {
        int ohw = g.outH() * g.outW(), inSize = g.c() * g.h() * g.w();
        for (int i = 0; i < cnt; i++) {
            Im2col.im2col(g, xd, (i0 + i) * inSize, col, i * ohw, cnt * ohw);
        }
    }

    /** dst [k, cnt*ohw] = images [i0, i0 + cnt) of an [n, k, ohw] array side by side. */
    private static void gatherOutputs(ConvGeometry g, float[] src, int i0, int cnt, float[] dst) {
        int k = g.k(), ohw = g.outH() * g.outW(), cols = cnt * ohw;
        for (int i = 0; i < cnt; i++) {
            int from = (i0 + i) * k * ohw;
            for (int f = 0; f < k; f++) {
                System.arraycopy(src, from + f * ohw, dst, f * cols + i * ohw, ohw);
            }
        }
    }

    /** The inverse of gatherOutputs: images of src [k, cnt*ohw] back into their places of an [n, k, ohw] array. */
    private static void scatterOutputs(ConvGeometry g, float[] src, int i0, int cnt, float[] dst) {
        int k = g.k(), ohw = g.outH() * g.outW(), cols = cnt * ohw;
        for (int i = 0; i < cnt; i++) {
            int to = (i0 + i) * k * ohw;
            for (int f = 0; f < k; f++) {
                System.arraycopy(src, f * cols + i * ohw, dst, to + f * ohw, ohw);
            }
        }
    }

    /** A matrix inside an array: a group's images in place, or gathered into scratch. */
    private record Slab(float[] data, int offset) {
    }

    /**
     * Images [i0, i0 + cnt) of an [n, k, ohw] array as one [k, cnt*ohw] matrix: a single image is one already,
     * in place; several are gathered side by side into the scratch's output buffer.
     */
    private static Slab outputs(ConvGeometry g, float[] src, int i0, int cnt, Gemm.Scratch s) {
        int outSize = g.k() * g.outH() * g.outW();
        if (cnt == 1) {
            return new Slab(src, i0 * outSize);
        }
        float[] dst = s.out(outSize * cnt);
        gatherOutputs(g, src, i0, cnt, dst);
        return new Slab(dst, 0);
    }

    private static boolean isPointwise(ConvGeometry g) {
        return g.kernelH() == 1 && g.kernelW() == 1 && g.strideH() == 1 && g.strideW() == 1
                && g.padH() == 0 && g.padW() == 0;
    }

    /**
     * How a matrix-product pass splits the batch: {@code size} images a group ({@link #groupSize}), {@code count}
     * groups, in {@code chunks} for the threads, and whether the groups go in parallel (else each product does).
     */
    private record Grouping(int size, int count, int chunks, boolean parallel) {
        /** The chunks the loop over the groups takes: one unless the groups go in parallel. */
        int loopChunks() {
            return parallel ? chunks : 1;
        }

        /** Groups a worker takes at a time ({@link #imageGrain}). */
        int grain() {
            return imageGrain(count, chunks);
        }
    }

    private Grouping grouping(ConvGeometry g) {
        int size = groupSize(g, loops.threads()), count = Math.ceilDiv(g.n(), size);
        int chunks = loops.chunks(count, g.macs());
        return new Grouping(size, count, chunks, imagesInParallel(chunks, count));
    }

    /** Images claimed at a time: about four claims per thread, so a delayed thread can be made up for. */
    private static int imageGrain(int n, int chunks) {
        return Math.max(1, n / (4 * Math.max(1, chunks)));
    }

    /** Whether one call should spread its images over the threads (else each product may go parallel). */
    private boolean imagesInParallel(int chunks, int n) {
        return chunks > 1 && n >= loops.threads();
    }

    /**
     * y = conv(x, w) on arrays: per image, y_img [k, outH*outW] = w [k, c*kh*kw] * columns(x_img) with im2col
     * fused into the packing; for small outputs per group of images, y_group = w * columns(group).
     */
    void forward(ConvGeometry g, float[] xd, float[] wd, float[] yd) {
        if (onOneDnn(g, OneDnnConvolution.Pass.FORWARD)) {
            onednn.forward(g, xd, wd, yd);
            return;
        }
        if (direct(g) || smallMap(g)) {
            float[] packed = gemm.scratch().packedFilters(filterSize(g));
            VectorConvolution.packFilters(g, wd, packed);
            vectorForward(g, xd, packed, yd);
            return;
        }
        int crs = g.c() * g.kernelH() * g.kernelW(), ohw = g.outH() * g.outW();
        int inSize = g.c() * g.h() * g.w(), outSize = g.k() * ohw;
        boolean pointwise = isPointwise(g);
        Grouping groups = grouping(g);
        loops.parallelDynamic(groups.count(), groups.loopChunks(), groups.grain(), (ci, from, to) -> {
            for (int grp = from; grp < to; grp++) {
                int i0 = grp * groups.size(), cnt = Math.min(groups.size(), g.n() - i0);
                if (cnt == 1) {
                    Gemm.BPanel cols = pointwise ? new Gemm.MatrixB(false, ohw, crs, xd, i0 * inSize)
                            : new Im2col.Columns(g, xd, i0 * inSize);
                    gemm.gemm(false, g.k(), ohw, crs, 1f, wd, 0, cols, 0f, yd, i0 * outSize, !groups.parallel());
                    continue;
                }
                Gemm.Scratch s = gemm.scratch();
                float[] col = s.col(crs * cnt * ohw), out = s.out(g.k() * cnt * ohw);
                im2colGroup(g, xd, i0, cnt, col);
                gemm.gemm(false, false, g.k(), cnt * ohw, crs, 1f, wd, 0, col, 0, 0f, out, 0, !groups.parallel());
                scatterOutputs(g, out, i0, cnt, yd);
            }
        });
    }

    /**
     * Whether dx is the forward convolution of dy with the filters transposed and flipped: stride 1 and padding
     * below the kernel size (every 3x3 convolution of VGG and ResNet but the strided ones). Taken when that
     * forward convolution runs on {@link VectorConvolution}; on the matrix-product path it was no faster than
     * the product into a column matrix and col2im (ResNet20 and VGG11 steps within 2%, one thread).
     */
    static boolean dataGradientAsForward(ConvGeometry g) {
        return g.strideH() == 1 && g.strideW() == 1 && g.padH() < g.kernelH() && g.padW() < g.kernelW()
                && !isPointwise(g);
    }

    /**
     * The convolution whose forward pass is g's data gradient: dy [n, k, outH, outW] in, dx [n, c, h, w] out,
     * padding kernel - 1 - pad, so that dx[c, i, j] = sum over (f, r, s) of w[f, c, r, s] dy[f, i + pad - r,
     * j + pad - s].
     */
    static ConvGeometry dataGradientGeometry(ConvGeometry g) {
        return new ConvGeometry(g.n(), g.k(), g.outH(), g.outW(), g.c(), g.kernelH(), g.kernelW(), 1, 1,
                g.kernelH() - 1 - g.padH(), g.kernelW() - 1 - g.padW());
    }

    /**
     * packed = the filters of {@link #dataGradientGeometry}, flipped [c, k, kh, kw] = w [k, c, kh-1-r, kw-1-s],
     * laid out as {@link VectorConvolution#packFilters} lays out a forward convolution's (c in tiles of four).
     */
    static void flipAndPackFilters(ConvGeometry g, float[] wd, float[] packed) {
        int k = g.k(), c = g.c(), rs = g.kernelH() * g.kernelW(), taps = k * rs, four = VectorConvolution.FILTERS;
        for (int f = 0; f < k; f++) {
            for (int ch = 0; ch < c; ch++) {
                int from = (f * c + ch) * rs, tile = ch - ch % four;
                for (int i = 0; i < rs; i++) {
                    int t = f * rs + rs - 1 - i; // tap of output channel ch in the flipped filters
                    packed[tile * taps + four * t + ch % four] = wd[from + i];
                }
            }
        }
    }

    /**
     * dx: as a forward convolution of dy where {@link #dataGradientAsForward}; else per image (or group of
     * images, as forward), dcol [c*kh*kw, pixels] = w^T * dy, scattered back into dx by col2im.
     */
    void backwardData(ConvGeometry g, float[] wd, float[] dyd, float[] dxd) {
        if (onOneDnn(g, OneDnnConvolution.Pass.DATA_GRADIENT)) {
            onednn.backwardData(g, wd, dyd, dxd);
            return;
        }
        ConvGeometry asForward = dataGradientAsForward(g) ? dataGradientGeometry(g) : null;
        if (asForward != null && (direct(asForward) || smallMap(asForward))) {
            float[] packed = gemm.scratch().packedFilters(filterSize(g));
            flipAndPackFilters(g, wd, packed);
            vectorForward(asForward, dyd, packed, dxd);
            return;
        }
        int c = g.c(), k = g.k(), kh = g.kernelH(), kw = g.kernelW();
        int crs = c * kh * kw, ohw = g.outH() * g.outW();
        int inSize = c * g.h() * g.w(), outSize = k * ohw;
        boolean pointwise = isPointwise(g);
        Grouping groups = grouping(g);
        loops.parallelDynamic(groups.count(), groups.loopChunks(), groups.grain(), (ci, from, to) -> {
            for (int grp = from; grp < to; grp++) {
                int i0 = grp * groups.size(), cnt = Math.min(groups.size(), g.n() - i0), cols = cnt * ohw;
                if (cnt == 1 && pointwise) {
                    gemm.gemm(true, false, crs, ohw, k, 1f, wd, 0, dyd, i0 * outSize, 0f, dxd, i0 * inSize,
                            !groups.parallel());
                    continue;
                }
                Gemm.Scratch s = gemm.scratch();
                float[] dcol = s.col(crs * cols);
                Slab dy = outputs(g, dyd, i0, cnt, s);
                gemm.gemm(true, false, crs, cols, k, 1f, wd, 0, dy.data(), dy.offset(), 0f, dcol, 0, !groups.parallel());
                for (int i = 0; i < cnt; i++) {
                    Im2col.col2im(g, dcol, i * ohw, cols, dxd, (i0 + i) * inSize);
                }
            }
        });
    }

    /** Whether a pass of g runs on {@link OneDnnConvolution}: given one, a pass it suits, its natives, accepted. */
    private boolean onOneDnn(ConvGeometry g, OneDnnConvolution.Pass pass) {
        return onednn != null && OneDnnConvolution.suits(g, pass) && OneDnnConvolution.available()
                && onednn.accepts(g);
    }

    /** Whether g runs on {@link VectorConvolution}. */
    private boolean direct(ConvGeometry g) {
        return vector && VectorConvolution.supports(g) && !isPointwise(g);
    }

    /**
     * Whether g's forward (and data gradient) runs on {@link SmallMapConvolution} (8 images to a vector). Not
     * its filter gradient: summed over 4x4 or 2x2 pixels per pass it added its lanes every 8 to 16 vectors and
     * ran at 0.6x the matrix-product path (VGG11, one thread).
     */
    private boolean smallMap(ConvGeometry g) {
        return vector && SmallMapConvolution.supports(g) && !isPointwise(g);
    }

    private static int filterSize(ConvGeometry g) {
        return g.k() * g.c() * g.kernelH() * g.kernelW();
    }

    /**
     * y = conv(x, w) on {@link VectorConvolution} or {@link SmallMapConvolution}, w {@link
     * VectorConvolution#packFilters packed} in the calling thread's buffer (which every worker reads).
     */
    private void vectorForward(ConvGeometry g, float[] xd, float[] packed, float[] yd) {
        if (direct(g)) {
            directForward(g, xd, packed, yd);
        } else {
            smallMapForward(g, xd, packed, yd);
        }
    }

    /** Per block of 8 images, y = w * columns(block) on the Vector API, the blocks spread over the threads. */
    private void smallMapForward(ConvGeometry g, float[] xd, float[] packed, float[] yd) {
        int blocks = SmallMapConvolution.blocks(g);
        int chunks = loops.chunks(blocks, g.macs());
        int[] offsets = tapOffsets(g);
        SmallMapConvolution.spreadOffsets(g, offsets);
        loops.parallelDynamic(blocks, chunks, 1, (ci, from, to) -> {
            Gemm.Scratch s = gemm.scratch();
            float[] padded = s.padded(SmallMapConvolution.paddedSize(g));
            float[] out = s.out(SmallMapConvolution.outputSize(g));
            for (int b = from; b < to; b++) {
                SmallMapConvolution.pad(g, xd, b, padded, 0);
                SmallMapConvolution.forward(g, padded, offsets, packed, out);
                SmallMapConvolution.unpack(g, out, b, yd);
            }
        });
    }

    /**
     * Per image, y_img = w * columns(x_img) on the Vector API. The images are spread over the threads; with
     * fewer images than threads, each image's filters are split as well.
     */
    private void directForward(ConvGeometry g, float[] xd, float[] packed, float[] yd) {
        int n = g.n(), inSize = g.c() * g.h() * g.w(), outSize = g.k() * g.outH() * g.outW();
        int tiles = g.k() / VectorConvolution.FILTERS;
        int parts = n >= loops.threads() ? 1 : Math.min(tiles, Math.ceilDiv(loops.threads(), n));
        int items = n * parts;
        int chunks = loops.chunks(items, g.macs());
        int[] offsets = tapOffsets(g);
        loops.parallelDynamic(items, chunks, imageGrain(items, chunks), (ci, from, to) -> {
            float[] padded = gemm.scratch().padded(VectorConvolution.paddedSize(g));
            int padFor = -1;
            for (int it = from; it < to; it++) {
                int img = it / parts, part = it % parts;
                if (img != padFor) {
                    VectorConvolution.pad(g, xd, img * inSize, padded, 0);
                    padFor = img;
                }
                int f0 = tiles * part / parts * VectorConvolution.FILTERS;
                int f1 = tiles * (part + 1) / parts * VectorConvolution.FILTERS;
                VectorConvolution.forward(g, padded, offsets, packed, f0, f1, yd, img * outSize);
            }
        });
    }

    /** The calling thread's tap offsets of g (read by every worker of the call). */
    private int[] tapOffsets(ConvGeometry g) {
        int[] offsets = gemm.scratch().taps(g.c() * g.kernelH() * g.kernelW());
        VectorConvolution.offsets(g, offsets);
        return offsets;
    }

    /** A filter gradient's items in {@code count} fixed blocks of {@code grain} (the last maybe short). */
    private record FilterBlocks(int grain, int count) {
    }

    /**
     * Blocks for a filter gradient summed over {@code items}: up to four per participant, fewer when the
     * filters are large, since each block past the first has a buffer of its own; one when not in parallel.
     */
    private static FilterBlocks filterBlocks(int items, int chunks, boolean parallel, int filterSize) {
        long budget = (16L << 20) / 4 / Math.max(1, filterSize);
        int blocks = parallel ? (int) Math.min(items, Math.max(chunks, Math.min(4L * chunks, budget))) : 1;
        int grain = Math.ceilDiv(items, blocks);
        return new FilterBlocks(grain, Math.ceilDiv(items, grain));
    }

    /** dwd += the blocks' sums after the first, in block order (the first block summed into dwd itself). */
    private static void addBlocks(float[][] partial, float[] dwd, int filterSize) {
        for (int t = 1; t < partial.length; t++) {
            float[] p = partial[t];
            for (int i = 0; i < filterSize; i++) {
                dwd[i] += p[i];
            }
        }
    }

    /**
     * Padded images one filter-gradient pass of {@link VectorConvolution} reads, in floats (a 512 KB L2 cache):
     * a pass reads every image's plane once per block of filters, and with a whole batch of VGG's 256-channel
     * 8x8 images (13 MB) per pass the gradient ran at half the matrix-product path's speed, with 5 images at
     * twice it. 2^15 to 2^19 floats gave the same ResNet20 and VGG11 steps within 3%.
     */
    static final int PASS_FLOATS = 1 << 17;

    /**
     * dw = the sum over images of dy_img * columns(x_img)^T on the Vector API, in fixed blocks of images, each
     * summed as dw^T [taps, k] ({@link VectorConvolution#filterGradient}) and turned back at the end.
     */
    private void directFilterGradient(ConvGeometry g, float[] xd, float[] dyd, float[] dwd) {
        int n = g.n(), inSize = g.c() * g.h() * g.w(), outSize = g.k() * g.outH() * g.outW();
        int filterSize = filterSize(g), pixels = g.outH() * g.outW();
        int chunks = loops.chunks(n, g.macs());
        boolean byImage = imagesInParallel(chunks, n);
        FilterBlocks blocks = filterBlocks(n, chunks, byImage, filterSize);
        int grain = blocks.grain();
        float[][] partial = gemm.scratch().partials(blocks.count(), filterSize);
        int[] offsets = tapOffsets(g);
        // a single image's filters are not split over the threads here: too small a layer to matter
        int paddedSize = VectorConvolution.paddedSize(g);
        int perPass = Math.max(1, Math.min(grain, PASS_FLOATS / paddedSize));
        loops.parallelDynamic(n, byImage ? chunks : 1, grain, (ci, from, to) -> {
            float[] acc = partial[from / grain];
            java.util.Arrays.fill(acc, 0, filterSize, 0f);
            Gemm.Scratch s = gemm.scratch();
            int most = Math.min(perPass, to - from);
            float[] padded = s.padded(paddedSize * most);
            int[] at = s.positions(most * pixels);
            float[] dyT = s.col(most * outSize); // the column buffer is the matrix-product path's, unused here
            for (int i0 = from; i0 < to; i0 += perPass) {
                int cnt = Math.min(perPass, to - i0);
                for (int i = 0; i < cnt; i++) {
                    VectorConvolution.pad(g, xd, (i0 + i) * inSize, padded, i * paddedSize);
                }
                int count = VectorConvolution.pixelPositions(g, cnt, at);
                VectorConvolution.transposeOutputs(g, dyd, i0 * outSize, cnt, dyT);
                VectorConvolution.filterGradient(g, padded, at, count, offsets, dyT, acc);
            }
        });
        addTransposedBlocks(partial, blocks.count(), g.k(), filterSize / g.k(), dwd);
    }

    /** dw [k, taps] = the sum of the first {@code count} blocks' dw^T [taps, k], in block order. */
    private static void addTransposedBlocks(float[][] partial, int count, int k, int taps, float[] dwd) {
        for (int f = 0; f < k; f++) {
            for (int t = 0; t < taps; t++) {
                float sum = 0f;
                for (int b = 0; b < count; b++) {
                    sum += partial[b][t * k + f];
                }
                dwd[f * taps + t] = sum;
            }
        }
    }

    /** dw = the sum over images (or groups of images, as forward) of dy [k, pixels] * columns(x)^T. */
    void backwardFilter(ConvGeometry g, float[] xd, float[] dyd, float[] dwd) {
        if (onOneDnn(g, OneDnnConvolution.Pass.FILTER_GRADIENT)) {
            onednn.backwardFilter(g, xd, dyd, dwd);
            return;
        }
        if (direct(g) && VectorConvolution.supportsFilterGradient(g)) {
            directFilterGradient(g, xd, dyd, dwd);
            return;
        }
        int k = g.k(), crs = g.c() * g.kernelH() * g.kernelW(), ohw = g.outH() * g.outW();
        int inSize = g.c() * g.h() * g.w(), filterSize = k * crs;
        boolean pointwise = isPointwise(g);
        // few filter taps (a first layer): make the filters the long side, dw^T [crs, k] = columns * dy^T
        boolean swapped = crs < k && crs < 64;
        Grouping groups = grouping(g);
        // The groups go in fixed blocks, each summed into its own buffer (block 0 straight into dw unless
        // swapped), and the buffers are added in block order: which thread ran a block does not change the
        // result. Up to four blocks per thread, fewer when the filters are large; the buffers are the calling
        // thread's, kept for the next call (a VGG layer's 2.4M-float filter gradient made 40 MB of garbage a
        // call when they were allocated each time, which the JVM's heap grew to hold).
        FilterBlocks blocks = filterBlocks(groups.count(), groups.chunks(), groups.parallel(), filterSize);
        int grain = blocks.grain();
        float[][] partial = new float[blocks.count()][];
        float[][] kept = gemm.scratch().partials(swapped ? blocks.count() : blocks.count() - 1, filterSize);
        loops.parallelDynamic(groups.count(), groups.loopChunks(), grain, (ci, from, to) -> {
            int block = from / grain;
            float[] acc = partial[block] = swapped ? kept[block] : block == 0 ? dwd : kept[block - 1];
            for (int grp = from; grp < to; grp++) {
                int i0 = grp * groups.size(), cnt = Math.min(groups.size(), g.n() - i0), cols = cnt * ohw;
                float beta = grp == from ? 0f : 1f;
                Gemm.Scratch s = gemm.scratch();
                Slab col;
                if (cnt == 1 && pointwise) {
                    col = new Slab(xd, i0 * inSize); // a 1x1 convolution's column matrix is its image
                } else {
                    col = new Slab(s.col(crs * cols), 0);
                    im2colGroup(g, xd, i0, cnt, col.data());
                }
                Slab dy = outputs(g, dyd, i0, cnt, s);
                if (swapped) {
                    gemm.gemm(false, true, crs, k, cols, 1f, col.data(), col.offset(), dy.data(), dy.offset(), beta,
                            acc, 0, !groups.parallel());
                } else {
                    // dw [k, crs] (+)= dy [k, pixels] * col^T [pixels, crs]
                    gemm.gemm(false, true, k, crs, cols, 1f, dy.data(), dy.offset(), col.data(), col.offset(), beta,
                            acc, 0, !groups.parallel());
                }
            }
        });
        if (swapped) {
            addTransposedBlocks(partial, partial.length, k, crs, dwd);
        } else {
            addBlocks(partial, dwd, filterSize);
        }
    }
}
