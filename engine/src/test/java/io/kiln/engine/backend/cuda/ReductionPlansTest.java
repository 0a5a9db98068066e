package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The grids of the bias-gradient and loss kernels through their CPU twins: every element read exactly once, the
 * sums those of the CPU reference, the grids within CUDA's limits, enough blocks to fill a large GPU, and the
 * 32-bit index arithmetic safe up to the largest tensor Kiln allows.
 */
class ReductionPlansTest {
    /** An H100/H200 has 132 multiprocessors: KernelLauncher aims a reduction at 4 blocks on each. */
    private static final int H100_BLOCKS = 132 * 4;

    @Test
    void biasGradientReadsEveryElementOnceAndSumsLikeTheCpu() {
        SplittableRandom rng = new SplittableRandom(5);
        int[][] shapes = {{100, 10, 1}, {128, 512, 1}, {16, 32, 28 * 28}, {3, 5, 7}, {1, 1, 1}, {0, 4, 9}, {7, 3, 1025}};
        for (int[] s : shapes) {
            int n = s[0], c = s[1], spatial = s[2];
            float[] dy = new float[n * c * spatial];
            for (int i = 0; i < dy.length; i++) {
                dy[i] = (float) (rng.nextDouble() * 2 - 1);
            }
            for (int target : new int[] {1, 16, H100_BLOCKS}) {
                BiasReduction plan = BiasReduction.plan(n, c, spatial, target);
                int[] visits = new int[dy.length];
                float[] db = plan.simulate(dy, visits);
                for (int i = 0; i < visits.length; i++) {
                    assertEquals(1, visits[i], plan + ": element " + i + " read " + visits[i] + " times");
                }
                for (int ch = 0; ch < c; ch++) {
                    double want = 0;
                    for (int img = 0; img < n; img++) {
                        for (int p = 0; p < spatial; p++) {
                            want += dy[(img * c + ch) * spatial + p];
                        }
                    }
                    assertEquals(want, db[ch], 1e-4 * Math.max(1, Math.sqrt((double) n * spatial)), plan + " channel " + ch);
                }
                assertTrue(plan.chunks() >= 1 && plan.chunks() <= BiasReduction.MAX_GRID_Y, plan.toString());
                assertTrue((long) plan.chunks() * plan.chunkLen() >= (long) n * spatial, plan + " covers the channel");
                assertTrue((long) (plan.chunks() - 1) * plan.chunkLen() < Math.max(1L, (long) n * spatial),
                        plan + " has an empty block");
            }
        }
    }

    @Test
    void biasGradientIsDeterministic() {
        float[] dy = new float[64 * 16 * 100];
        SplittableRandom rng = new SplittableRandom(9);
        for (int i = 0; i < dy.length; i++) {
            dy[i] = (float) rng.nextGaussian();
        }
        BiasReduction plan = BiasReduction.plan(64, 16, 100, H100_BLOCKS);
        assertArrayEquals(plan.simulate(dy, null), plan.simulate(dy, null));
    }

    @Test
    void fewChannelsStillFillALargeGpu() {
        // the conv layers of a small CNN: 16 or 32 channels of 28x28 in a batch of 64 (one block per channel
        // was 16 or 32 blocks on 132 multiprocessors)
        for (int c : new int[] {10, 16, 32, 64}) {
            BiasReduction plan = BiasReduction.plan(64, c, 28 * 28, H100_BLOCKS);
            assertTrue((long) plan.chunks() * c >= 132, plan + ": fewer blocks than multiprocessors");
            assertTrue(plan.chunkLen() >= BiasReduction.MIN_CHUNK, plan + ": blocks too small to be worth it");
        }
        // a dense layer's bias over a batch of 100 is too little work to split
        assertEquals(1, BiasReduction.plan(100, 10, 1, H100_BLOCKS).chunks());
    }

    @Test
    void indexArithmeticFitsThirtyTwoBitsForTheLargestTensor() {
        // 2^31 - 1 elements at most (Tensor.sizeOf); the kernel's indices and chunk ends must not wrap
        int c = 3, spatial = 1 << 20, n = (Integer.MAX_VALUE / (c * spatial));
        BiasReduction plan = BiasReduction.plan(n, c, spatial, H100_BLOCKS);
        long count = (long) n * spatial;
        long lastStart = (long) (plan.chunks() - 1) * plan.chunkLen();
        assertTrue(BiasReduction.u32(lastStart + plan.chunkLen()) >= count);
        long lastIndex = ((long) (n - 1) * c + (c - 1)) * spatial + (spatial - 1);
        assertTrue(BiasReduction.u32(lastIndex) < Integer.MAX_VALUE);
        assertThrows(ArithmeticException.class, () -> BiasReduction.u32(1L << 32), "the overflow check itself works");
    }

    @Test
    void lossBlocksTakeEverySampleOnce() {
        for (int n : new int[] {1, 100, 255, 256, 257, 300, 10_000, 100_000}) {
            for (int maxBlocks : new int[] {1, 8, H100_BLOCKS}) {
                LossReduction plan = LossReduction.plan(n, maxBlocks);
                assertTrue(plan.blocks() >= 1 && plan.blocks() <= maxBlocks, plan.toString());
                int[] seen = new int[n];
                for (int b = 0; b < plan.blocks(); b++) {
                    for (int t = 0; t < KernelLauncher.BLOCK; t++) {
                        for (int i : plan.samples(b, t)) {
                            seen[i]++;
                        }
                    }
                }
                for (int i = 0; i < n; i++) {
                    assertEquals(1, seen[i], plan + ": sample " + i);
                }
                assertEquals(2L * plan.blocks() * Double.BYTES, plan.partialBytes());
            }
        }
        assertEquals(2, LossReduction.plan(300, H100_BLOCKS).blocks(), "a batch of 300 on two blocks, not one");
    }
}
