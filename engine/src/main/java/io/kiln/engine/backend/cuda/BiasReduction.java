package io.kiln.engine.backend.cuda;

/**
 * How {@code kiln_bias_partials} and {@code kiln_bias_finish} split the bias gradient of {@code [n, c, spatial]}
 * over the GPU, and the CPU twin of their index arithmetic ({@link #simulate}), so that the split and the
 * 32-bit index math are tested without a GPU.
 *
 * <p>One block per channel (the old kernel) leaves most of a large GPU idle when there are few channels (10
 * to 64 blocks on 132 multiprocessors). Here each channel's {@code n * spatial} elements are cut into
 * {@code chunks} runs of {@code chunkLen}, one block each (a 2-D grid {@code (c, chunks)}), so that about
 * {@code targetBlocks} blocks run; each writes its sum to {@code partial[q * c + ch]} and a second pass adds a
 * channel's partial sums in chunk order. Both passes have a fixed order, so the result is deterministic.
 *
 * @param chunks blocks per channel (grid y), at most {@value #MAX_GRID_Y}
 * @param chunkLen elements of a channel each block sums (the last block may have fewer)
 */
record BiasReduction(int n, int c, int spatial, int chunks, int chunkLen) {
    /** CUDA's limit on gridDim.y. */
    static final int MAX_GRID_Y = 65_535;
    /** Fewer elements than this per block are not worth a block of their own. */
    static final int MIN_CHUNK = 4 * KernelLauncher.BLOCK;

    static BiasReduction plan(int n, int c, int spatial, int targetBlocks) {
        long count = (long) n * spatial;
        if (c <= 0) {
            throw new IllegalArgumentException("bias gradient with " + c + " channels");
        }
        long wanted = Math.max(1, (targetBlocks + c - 1) / c);
        long most = Math.max(1, count / MIN_CHUNK);
        int chunks = (int) Math.min(Math.min(wanted, most), MAX_GRID_Y);
        int chunkLen = (int) Math.max(1, (count + chunks - 1) / chunks);
        // no empty block: as few chunks as the chunk length needs
        chunks = (int) Math.max(1, (count + chunkLen - 1) / chunkLen);
        return new BiasReduction(n, c, spatial, chunks, chunkLen);
    }

    /** Floats of the partial sums between the two passes. */
    long partialFloats() {
        return (long) chunks * c;
    }

    /**
     * What the two kernels compute, step by step in the same order and with the same index arithmetic (every
     * intermediate checked to fit the kernels' unsigned 32-bit integers); {@code visits} (may be null) counts
     * how often each element of dy was read.
     */
    float[] simulate(float[] dy, int[] visits) {
        int block = KernelLauncher.BLOCK;
        long count = u32((long) n * spatial);
        float[] partial = new float[(int) partialFloats()];
        float[] part = new float[block];
        for (int q = 0; q < chunks; q++) {
            for (int ch = 0; ch < c; ch++) {
                long start = u32((long) q * chunkLen);
                long end = Math.min(count, u32(start + chunkLen));
                for (int t = 0; t < block; t++) {
                    float s = 0f;
                    for (long e = u32(start + t); e < end; e = u32(e + block)) {
                        long img = e / spatial, p = u32(e - u32(img * spatial));
                        int index = (int) u32(u32(u32(u32(img * c) + ch) * spatial) + p);
                        s += dy[index];
                        if (visits != null) {
                            visits[index]++;
                        }
                    }
                    part[t] = s;
                }
                for (int stride = block / 2; stride > 0; stride >>= 1) {
                    for (int t = 0; t < stride; t++) {
                        part[t] += part[t + stride];
                    }
                }
                partial[(int) u32(u32((long) q * c) + ch)] = part[0];
            }
        }
        float[] db = new float[c];
        for (int ch = 0; ch < c; ch++) {
            float s = 0f;
            for (int q = 0; q < chunks; q++) {
                s += partial[(int) u32(u32((long) q * c) + ch)];
            }
            db[ch] = s;
        }
        return db;
    }

    /** A value of the kernels' unsigned 32-bit arithmetic: fails where the kernel would wrap around. */
    static long u32(long v) {
        if (v < 0 || v > 0xFFFF_FFFFL) {
            throw new ArithmeticException("32-bit index overflow: " + v);
        }
        return v;
    }
}
