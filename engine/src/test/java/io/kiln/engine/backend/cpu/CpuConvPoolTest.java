package io.kiln.engine.backend.cpu;

import static io.kiln.engine.backend.cpu.CpuTestSupport.assertClose;
import static io.kiln.engine.backend.cpu.CpuTestSupport.data;
import static io.kiln.engine.backend.cpu.CpuTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.ConvGeometry;
import io.kiln.engine.backend.PoolGeometry;
import io.kiln.engine.backend.PoolMode;
import io.kiln.engine.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Convolution and pooling against direct loops written from the definitions. */
class CpuConvPoolTest extends SerialAndParallelBackends {
    /** Two threads without the Vector API: the matrix-product path for every shape. */
    final CpuBackend matrixProducts = new CpuBackend(2, Gemm.DEFAULT_KERNEL, false, false);

    @AfterAll
    void closeMatrixProducts() {
        matrixProducts.close();
    }

    @Test
    void testsRunWithTheVectorApi() {
        // the engine's surefire configuration adds the module; without it the first two backends would test the
        // matrix-product path twice
        assertTrue(ModuleLayer.boot().findModule(VectorSupport.MODULE).isPresent(), VectorSupport.describe());
        Assumptions.assumeTrue(VectorSupport.enabled(), VectorSupport.describe());
        assertTrue(serial.convolutionPath().contains("Vector API"), serial.convolutionPath());
        assertEquals("convolutions as matrix products", matrixProducts.convolutionPath());
    }
    private static List<ConvGeometry> convGeometries() {
        List<ConvGeometry> gs = new ArrayList<>();
        for (int stride : new int[] {1, 2}) {
            for (int pad : new int[] {0, 1}) {
                gs.add(ConvGeometry.square(3, 2, 7, 9, 4, 3, stride, pad));
                gs.add(ConvGeometry.square(1, 3, 9, 5, 5, 3, stride, pad));   // one image: parallel inside the product
                gs.add(ConvGeometry.square(5, 1, 8, 8, 6, 2, stride, pad));
            }
        }
        gs.add(new ConvGeometry(2, 3, 11, 6, 5, 3, 2, 2, 1, 1, 0));       // non-square kernel, stride and padding
        gs.add(new ConvGeometry(3, 4, 5, 7, 3, 1, 1, 1, 1, 0, 0));        // pointwise (no im2col)
        gs.add(new ConvGeometry(2, 4, 5, 7, 3, 1, 1, 2, 2, 0, 0));        // strided 1x1
        gs.add(ConvGeometry.square(4, 8, 12, 12, 16, 3, 1, 1));          // larger: panels of more than one block row
        gs.add(new ConvGeometry(2, 2, 6, 6, 3, 5, 5, 1, 1, 2, 2));        // 5x5, pad 2
        // stride 1, many channels, non-square kernels
        gs.add(ConvGeometry.square(3, 8, 7, 9, 5, 3, 1, 0));
        gs.add(new ConvGeometry(2, 9, 6, 7, 4, 3, 2, 1, 1, 1, 0));
        gs.add(new ConvGeometry(2, 10, 8, 8, 3, 5, 5, 1, 1, 2, 1));
        gs.add(new ConvGeometry(2, 12, 5, 6, 7, 1, 1, 1, 1, 0, 0));       // pointwise, many channels
        gs.add(new ConvGeometry(3, 2, 5, 6, 5, 1, 1, 1, 1, 0, 0));        // pointwise, few taps: swapped filter gradient
        gs.add(ConvGeometry.square(2, 2, 30, 30, 4, 3, 1, 1));           // 900 output pixels: two column blocks
        gs.add(ConvGeometry.square(1, 90, 5, 5, 4, 3, 1, 1));            // 810 filter taps: two column blocks
        gs.add(ConvGeometry.square(1, 90, 6, 6, 4, 3, 2, 1));
        gs.add(ConvGeometry.square(8, 1, 28, 28, 32, 3, 1, 0));          // a first layer, big enough to split the images
        gs.add(ConvGeometry.square(6, 16, 14, 14, 32, 3, 1, 1));         // likewise for the general paths
        // 64 output pixels: images multiplied in groups of 8 (CpuConvolution.groupSize), the last group short,
        // the groups spread over the threads
        gs.add(ConvGeometry.square(70, 4, 8, 8, 8, 3, 1, 1));
        gs.add(new ConvGeometry(13, 6, 8, 8, 4, 1, 1, 2, 2, 0, 0));       // strided 1x1 in groups
        // VectorConvolution's shapes (stride 1, output rows of whole 8-pixel vectors, filters in fours; the filter
        // gradient of these on the matrix-product path): 27 taps, 24-pixel rows (a 16 tile and an 8 tile), one
        // image (its filters split over the threads), a 3x2 kernel whose data gradient is not vector-shaped, a
        // 5x5 kernel, no padding, a 2x2 kernel
        gs.add(ConvGeometry.square(3, 3, 16, 16, 8, 3, 1, 1));
        gs.add(ConvGeometry.square(1, 4, 24, 24, 12, 3, 1, 1));
        gs.add(new ConvGeometry(2, 4, 10, 9, 8, 3, 2, 1, 1, 1, 0));
        gs.add(ConvGeometry.square(2, 8, 8, 16, 4, 5, 1, 2));
        gs.add(ConvGeometry.square(2, 4, 18, 18, 8, 3, 1, 0));
        gs.add(new ConvGeometry(2, 1, 9, 9, 4, 2, 2, 1, 1, 0, 0));
        // ... whose filter gradient is VectorConvolution's too (filters in sixteens, taps in sixes): 27 taps (four
        // sixes and three left over), two blocks of filters, a 5x5 kernel (50 taps), stride 2, images in
        // parallel blocks, images too large for two in a pass (CpuConvolution.PASS_FLOATS)
        gs.add(ConvGeometry.square(3, 3, 16, 16, 16, 3, 1, 1));
        gs.add(ConvGeometry.square(2, 4, 8, 8, 32, 3, 1, 1));
        gs.add(ConvGeometry.square(2, 2, 8, 8, 16, 5, 1, 2));
        gs.add(ConvGeometry.square(2, 6, 16, 16, 16, 3, 2, 1));
        gs.add(ConvGeometry.square(40, 40, 8, 8, 16, 3, 1, 1));
        gs.add(ConvGeometry.square(3, 40, 40, 40, 16, 3, 1, 1));
        // ... with stride 2 (rows stored as even then odd columns): 16 and 8 output pixels a row, an odd-width
        // image (its padded rows rounded up to an even width), a 1x1 downsampling (the matrix-product path), no
        // padding
        gs.add(ConvGeometry.square(2, 3, 32, 32, 8, 3, 2, 1));
        gs.add(ConvGeometry.square(3, 4, 16, 16, 4, 3, 2, 1));
        gs.add(ConvGeometry.square(2, 4, 15, 15, 8, 3, 2, 1));
        gs.add(new ConvGeometry(2, 6, 16, 16, 8, 1, 1, 2, 2, 0, 0));
        gs.add(ConvGeometry.square(2, 5, 17, 17, 4, 3, 2, 0));
        // SmallMapConvolution's (8 images to a vector, rows under 8 pixels): a last block of 2 images, a 2x2 map
        // with 6 channels (its data gradient has 12 filters), 9 output pixels (an odd last one), no padding
        gs.add(ConvGeometry.square(10, 8, 4, 4, 8, 3, 1, 1));
        gs.add(ConvGeometry.square(16, 6, 2, 2, 12, 3, 1, 1));
        gs.add(ConvGeometry.square(9, 4, 5, 5, 4, 3, 1, 0));
        return gs;
    }

    /** Input value at (img, ci, ih, iw), zero outside the image. */
    private static double xAt(ConvGeometry g, float[] x, int img, int ci, int ih, int iw) {
        if (ih < 0 || ih >= g.h() || iw < 0 || iw >= g.w()) {
            return 0;
        }
        return x[((img * g.c() + ci) * g.h() + ih) * g.w() + iw];
    }

    static double[] refForward(ConvGeometry g, float[] x, float[] w) {
        int oh = g.outH(), ow = g.outW();
        double[] y = new double[g.n() * g.k() * oh * ow];
        for (int img = 0; img < g.n(); img++) {
            for (int f = 0; f < g.k(); f++) {
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double s = 0;
                        for (int ci = 0; ci < g.c(); ci++) {
                            for (int r = 0; r < g.kernelH(); r++) {
                                for (int q = 0; q < g.kernelW(); q++) {
                                    double wv = w[((f * g.c() + ci) * g.kernelH() + r) * g.kernelW() + q];
                                    s += wv * xAt(g, x, img, ci, i * g.strideH() - g.padH() + r, j * g.strideW() - g.padW() + q);
                                }
                            }
                        }
                        y[((img * g.k() + f) * oh + i) * ow + j] = s;
                    }
                }
            }
        }
        return y;
    }

    /** dx and dw by scattering each output gradient over the inputs and filters it touched. */
    static double[][] refBackward(ConvGeometry g, float[] x, float[] w, float[] dy) {
        int oh = g.outH(), ow = g.outW();
        double[] dx = new double[x.length], dw = new double[w.length];
        for (int img = 0; img < g.n(); img++) {
            for (int f = 0; f < g.k(); f++) {
                for (int i = 0; i < oh; i++) {
                    for (int j = 0; j < ow; j++) {
                        double d = dy[((img * g.k() + f) * oh + i) * ow + j];
                        for (int ci = 0; ci < g.c(); ci++) {
                            for (int r = 0; r < g.kernelH(); r++) {
                                for (int q = 0; q < g.kernelW(); q++) {
                                    int ih = i * g.strideH() - g.padH() + r, iw = j * g.strideW() - g.padW() + q;
                                    if (ih < 0 || ih >= g.h() || iw < 0 || iw >= g.w()) {
                                        continue;
                                    }
                                    int xi = ((img * g.c() + ci) * g.h() + ih) * g.w() + iw;
                                    int wi = ((f * g.c() + ci) * g.kernelH() + r) * g.kernelW() + q;
                                    dx[xi] += d * w[wi];
                                    dw[wi] += d * x[xi];
                                }
                            }
                        }
                    }
                }
            }
        }
        return new double[][] {dx, dw};
    }

    @Test
    void convolutionMatchesDirectLoops() {
        long seed = 100;
        for (ConvGeometry g : convGeometries()) {
            for (CpuBackend be : new CpuBackend[] {serial, parallel, matrixProducts}) {
                Random r = new Random(seed++);
                float[] x = random(r, g.n() * g.c() * g.h() * g.w());
                float[] w = random(r, g.k() * g.c() * g.kernelH() * g.kernelW());
                float[] dy = random(r, g.n() * g.k() * g.outH() * g.outW());
                String what = g + " on " + be.name();
                Tensor tx = be.fromHost(x, g.inputShape()), tw = be.fromHost(w, g.filterShape());
                Tensor ty = be.allocate(g.outputShape());
                be.fill(ty, Float.NaN); // outputs are fully written
                be.conv2dForward(g, tx, tw, ty);
                // each output sums c*kh*kw products of values in [-1, 1]
                double tol = 1e-5 * g.c() * g.kernelH() * g.kernelW();
                assertClose("forward " + what, refForward(g, x, w), data(ty), 0, tol);

                double[][] ref = refBackward(g, x, w, dy);
                Tensor tdy = be.fromHost(dy, g.outputShape());
                Tensor tdx = be.allocate(g.inputShape());
                be.fill(tdx, Float.NaN);
                be.conv2dBackwardData(g, tw, tdy, tdx);
                assertClose("backward data " + what, ref[0], data(tdx), 0, 1e-5 * g.k() * g.kernelH() * g.kernelW());
                Tensor tdw = be.allocate(g.filterShape());
                be.fill(tdw, Float.NaN);
                be.conv2dBackwardFilter(g, tx, tdy, tdw);
                assertClose("backward filter " + what, ref[1], data(tdw), 0, 1e-5 * g.n() * g.outH() * g.outW());
            }
        }
    }

    @Test
    void filterGradientDoesNotDependOnWhichThreadRanWhichImages() {
        // images are claimed dynamically, but summed in fixed blocks in a fixed order: repeated runs agree bit for
        // bit, on the matrix-product path (12x12) and on VectorConvolution (16x16)
        for (ConvGeometry g : List.of(ConvGeometry.square(16, 8, 12, 12, 16, 3, 1, 1),
                ConvGeometry.square(16, 8, 16, 16, 16, 3, 1, 1))) {
            Random r = new Random(300);
            Tensor x = parallel.fromHost(random(r, g.n() * g.c() * g.h() * g.w()), g.inputShape());
            Tensor dy = parallel.fromHost(random(r, g.n() * g.k() * g.outH() * g.outW()), g.outputShape());
            Tensor first = parallel.allocate(g.filterShape()), again = parallel.allocate(g.filterShape());
            parallel.conv2dBackwardFilter(g, x, dy, first);
            for (int i = 0; i < 20; i++) {
                parallel.conv2dBackwardFilter(g, x, dy, again);
                assertTrue(java.util.Arrays.equals(data(first), data(again)), g + ": run " + i + " differs");
            }
        }
    }

    @Test
    void convolutionRejectsWrongShapes() {
        ConvGeometry g = ConvGeometry.square(2, 3, 8, 8, 4, 3, 1, 0);
        Tensor x = serial.allocate(g.inputShape()), w = serial.allocate(g.filterShape()), y = serial.allocate(g.outputShape());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> serial.conv2dForward(g, x, serial.allocate(4, 3, 5, 5), y));
        assertTrue(e.getMessage().contains("[4, 3, 5, 5]") && e.getMessage().contains("[4, 3, 3, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> serial.conv2dForward(g, x, w, serial.allocate(2, 4, 8, 8)));
        assertTrue(e.getMessage().contains("[2, 4, 6, 6]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> serial.conv2dBackwardData(g, w, y, serial.allocate(2, 3, 7, 8)));
        assertThrows(IllegalArgumentException.class, () -> serial.conv2dBackwardFilter(g, x, serial.allocate(2, 4, 5, 6), w));
    }

    // ---- pooling --------------------------------------------------------------------------------------

    private static List<PoolGeometry> poolGeometries() {
        return List.of(
                PoolGeometry.square(2, 3, 8, 8, 2, 2, 0),
                PoolGeometry.square(2, 3, 7, 9, 2, 2, 0),     // odd: last row/column dropped
                PoolGeometry.square(3, 2, 7, 7, 3, 2, 1),
                PoolGeometry.square(2, 2, 5, 6, 3, 1, 1),
                new PoolGeometry(2, 2, 9, 6, 3, 2, 2, 1, 1, 0),
                PoolGeometry.square(64, 32, 24, 24, 2, 2, 0)); // large enough to run in parallel
    }

    /** Returns {y, dx} for pooling by the definitions; max routes to the first maximum in row-major order. */
    static double[][] refPool(PoolMode mode, PoolGeometry g, float[] x, float[] dy) {
        int oh = g.outH(), ow = g.outW();
        double[] y = new double[g.n() * g.c() * oh * ow], dx = new double[x.length];
        for (int pl = 0; pl < g.n() * g.c(); pl++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    int o = (pl * oh + i) * ow + j;
                    double best = Double.NEGATIVE_INFINITY, sum = 0;
                    int arg = -1;
                    for (int r = 0; r < g.windowH(); r++) {
                        for (int q = 0; q < g.windowW(); q++) {
                            int ih = i * g.strideH() - g.padH() + r, iw = j * g.strideW() - g.padW() + q;
                            if (ih < 0 || ih >= g.h() || iw < 0 || iw >= g.w()) {
                                continue; // padding: never the max, zero in the average
                            }
                            int xi = (pl * g.h() + ih) * g.w() + iw;
                            sum += x[xi];
                            if (x[xi] > best) {
                                best = x[xi];
                                arg = xi;
                            }
                        }
                    }
                    if (mode == PoolMode.MAX) {
                        y[o] = best;
                        dx[arg] += dy[o];
                    } else {
                        int area = g.windowH() * g.windowW();
                        y[o] = sum / area;
                        for (int r = 0; r < g.windowH(); r++) {
                            for (int q = 0; q < g.windowW(); q++) {
                                int ih = i * g.strideH() - g.padH() + r, iw = j * g.strideW() - g.padW() + q;
                                if (ih >= 0 && ih < g.h() && iw >= 0 && iw < g.w()) {
                                    dx[(pl * g.h() + ih) * g.w() + iw] += dy[o] / area;
                                }
                            }
                        }
                    }
                }
            }
        }
        return new double[][] {y, dx};
    }

    @Test
    void poolingMatchesDefinitionIncludingTies() {
        long seed = 200;
        for (PoolGeometry g : poolGeometries()) {
            for (PoolMode mode : PoolMode.values()) {
                for (CpuBackend be : new CpuBackend[] {serial, parallel, matrixProducts}) {
                    Random r = new Random(seed++);
                    float[] x = new float[g.n() * g.c() * g.h() * g.w()];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = r.nextInt(5) - 3; // small integers: many ties, all negative-or-zero-heavy
                    }
                    float[] dy = random(r, g.n() * g.c() * g.outH() * g.outW());
                    double[][] ref = refPool(mode, g, x, dy);
                    String what = mode + " " + g + " on " + be.name();
                    Tensor tx = be.fromHost(x, g.inputShape()), ty = be.allocate(g.outputShape());
                    be.fill(ty, Float.NaN);
                    be.poolForward(mode, g, tx, ty);
                    assertClose("pool forward " + what, ref[0], data(ty), 1e-6, 1e-6);
                    Tensor tdx = be.allocate(g.inputShape());
                    be.fill(tdx, Float.NaN);
                    be.poolBackward(mode, g, tx, ty, be.fromHost(dy, g.outputShape()), tdx);
                    assertClose("pool backward " + what, ref[1], data(tdx), 1e-6, 1e-6);
                }
            }
        }
    }

    @Test
    void maxPoolRoutesToFirstMaximum() {
        PoolGeometry g = PoolGeometry.square(1, 1, 2, 2, 2, 2, 0);
        Tensor x = serial.fromHost(new float[] {1, 3, 3, 3}, 1, 1, 2, 2), y = serial.allocate(1, 1, 1, 1);
        serial.poolForward(PoolMode.MAX, g, x, y);
        assertEquals(3f, data(y)[0]);
        Tensor dx = serial.allocate(1, 1, 2, 2);
        serial.poolBackward(PoolMode.MAX, g, x, y, serial.fromHost(new float[] {2}, 1, 1, 1, 1), dx);
        assertTrue(java.util.Arrays.equals(new float[] {0, 2, 0, 0}, data(dx)));
        assertThrows(IllegalArgumentException.class, () -> serial.poolForward(PoolMode.MAX, g, x, serial.allocate(1, 1, 2, 1)));
    }
}
