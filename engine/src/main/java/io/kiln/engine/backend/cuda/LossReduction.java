package io.kiln.engine.backend.cuda;

/**
 * How {@code kiln_loss} and {@code kiln_loss_finish} spread a batch's loss over the GPU: {@code blocks} blocks of
 * {@link KernelLauncher#BLOCK} threads, thread t of block b taking samples {@code b * BLOCK + t}, then every
 * {@code blocks * BLOCK}-th after it; each block writes its loss sum and correct count (two doubles) and one
 * thread adds them in block order. One block for the whole batch (the old kernel) ran the loss of a batch of
 * hundreds of samples on one multiprocessor.
 */
record LossReduction(int n, int blocks) {
    static LossReduction plan(int n, int maxBlocks) {
        int blocks = (int) Math.max(1, Math.min((n + (long) KernelLauncher.BLOCK - 1) / KernelLauncher.BLOCK, maxBlocks));
        return new LossReduction(n, blocks);
    }

    /** Bytes of the partial sums: a loss sum and a correct count per block, as doubles. */
    long partialBytes() {
        return 2L * blocks * Double.BYTES;
    }

    /** The samples thread {@code t} of block {@code b} takes, in the kernel's order. */
    int[] samples(int b, int t) {
        int stride = blocks * KernelLauncher.BLOCK;
        int first = b * KernelLauncher.BLOCK + t;
        int count = first >= n ? 0 : (n - 1 - first) / stride + 1;
        int[] out = new int[count];
        for (int j = 0; j < count; j++) {
            out[j] = first + j * stride;
        }
        return out;
    }
}
