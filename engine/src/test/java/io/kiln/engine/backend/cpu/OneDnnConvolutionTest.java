package io.kiln.engine.backend.cpu;

import static io.kiln.engine.backend.cpu.CpuTestSupport.assertClose;
import static io.kiln.engine.backend.cpu.CpuTestSupport.data;
import static io.kiln.engine.backend.cpu.CpuTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.ConvGeometry;
import io.kiln.engine.tensor.Tensor;

import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/** The convolutions that run on oneDNN, against the direct loops of {@link CpuConvPoolTest} and the Java paths. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class OneDnnConvolutionTest {
    private static final int C = OneDnnConvolution.MIN_CHANNELS;
    final CpuBackend withOneDnn = new CpuBackend(2);
    final CpuBackend javaOnly = new CpuBackend(2, Gemm.DEFAULT_KERNEL, true, false);

    @BeforeAll
    void needsTheNatives() {
        boolean here = "Linux".equals(System.getProperty("os.name"))
                && List.of("amd64", "x86_64").contains(System.getProperty("os.arch"));
        if (here) {
            // the engine ships oneDNN's linux-x86_64 natives: here they must load
            assertTrue(OneDnnConvolution.available(), OneDnnConvolution.describe());
        }
        Assumptions.assumeTrue(OneDnnConvolution.available(), "oneDNN does not load on this platform: "
                + OneDnnConvolution.describe());
    }

    @AfterAll
    void close() {
        withOneDnn.close();
        javaOnly.close();
    }

    @Test
    void theBackendSaysSo() {
        assertTrue(withOneDnn.convolutionPath().contains("oneDNN 3.6.1 for layers with at least " + C),
                withOneDnn.convolutionPath());
        assertFalse(javaOnly.convolutionPath().contains("oneDNN"), javaOnly.convolutionPath());
    }

    @Test
    void javacppsOwnMemoryCeilingIsOff() {
        // JavaCPP would refuse allocations once the resident set passed 4x the heap limit; Kiln's own limits
        // govern (set by OneDnnConvolution when loading, unless the user set one)
        Assumptions.assumeTrue(System.getProperty("org.bytedeco.javacpp.maxphysicalbytes") == null);
        assertEquals("0", System.getProperty("org.bytedeco.javacpp.maxPhysicalBytes"));
        assertEquals(0, org.bytedeco.javacpp.Pointer.maxPhysicalBytes());
    }

    /** Layers whose every pass runs on oneDNN (4x4 up to under 8x8 output pixels), and one 8x8 (its filter gradient). */
    private static List<ConvGeometry> geometries() {
        return List.of(
                ConvGeometry.square(3, C, 4, 4, C, 3, 1, 1),                // VGG's 4x4 layers
                ConvGeometry.square(2, C, 5, 5, C + 4, 3, 1, 1),            // more filters than channels
                ConvGeometry.square(2, C, 7, 7, C, 3, 2, 1),                // stride 2: the far side padded once
                ConvGeometry.square(2, C, 8, 8, C, 3, 2, 1),                // ... and not at all (a pixel dropped)
                new ConvGeometry(2, C, 5, 6, C, 1, 1, 1, 1, 0, 0),          // pointwise
                new ConvGeometry(1, C, 6, 5, C, 5, 3, 1, 1, 2, 0),          // 5x3 kernel, padding on one axis
                ConvGeometry.square(2, C, 8, 8, C, 3, 1, 1));               // 8x8: the filter gradient only
    }

    @Test
    void passesRunWhereOneDnnWasFaster() {
        var forward = OneDnnConvolution.Pass.FORWARD;
        var data = OneDnnConvolution.Pass.DATA_GRADIENT;
        var filter = OneDnnConvolution.Pass.FILTER_GRADIENT;
        for (var pass : OneDnnConvolution.Pass.values()) {
            assertTrue(OneDnnConvolution.suits(ConvGeometry.square(128, 512, 4, 4, 512, 3, 1, 1), pass), "4x4 " + pass);
            assertFalse(OneDnnConvolution.suits(ConvGeometry.square(128, 512, 2, 2, 512, 3, 1, 1), pass), "2x2 " + pass);
            assertFalse(OneDnnConvolution.suits(ConvGeometry.square(128, C - 1, 4, 4, 512, 3, 1, 1), pass), "few in");
            assertFalse(OneDnnConvolution.suits(ConvGeometry.square(128, 512, 4, 4, C - 1, 3, 1, 1), pass), "few out");
        }
        ConvGeometry eight = ConvGeometry.square(128, 256, 8, 8, 256, 3, 1, 1);
        assertTrue(OneDnnConvolution.suits(eight, filter));
        assertFalse(OneDnnConvolution.suits(eight, forward));
        assertFalse(OneDnnConvolution.suits(eight, data));
    }

    @Test
    void convolutionsMatchDirectLoops() {
        long seed = 700;
        for (ConvGeometry g : geometries()) {
            Random r = new Random(seed++);
            float[] x = random(r, g.n() * g.c() * g.h() * g.w());
            float[] w = random(r, g.k() * g.c() * g.kernelH() * g.kernelW());
            float[] dy = random(r, g.n() * g.k() * g.outH() * g.outW());
            float[][] oneDnn = run(withOneDnn, g, x, w, dy), java = run(javaOnly, g, x, w, dy);
            double[][] ref = CpuConvPoolTest.refBackward(g, x, w, dy);
            double taps = g.c() * g.kernelH() * g.kernelW();
            assertClose("forward " + g, CpuConvPoolTest.refForward(g, x, w), oneDnn[0], 0, 1e-5 * taps);
            assertClose("backward data " + g, ref[0], oneDnn[1], 0, 1e-5 * g.k() * g.kernelH() * g.kernelW());
            assertClose("backward filter " + g, ref[1], oneDnn[2], 0, 1e-5 * g.n() * g.outH() * g.outW());
            for (int i = 0; i < 3; i++) {
                assertClose("oneDNN against the Java path, output " + i + " of " + g, java[i], oneDnn[i],
                        0, 2e-5 * taps);
            }
        }
        assertEquals(geometries().size(), withOneDnn.oneDnnPlans(), "one oneDNN plan per geometry");
        assertEquals(0, javaOnly.oneDnnPlans());
    }

    @Test
    void fewChannelsStayOnTheJavaPaths() {
        CpuBackend fresh = new CpuBackend(1);
        try (fresh) {
            ConvGeometry g = ConvGeometry.square(2, C - 1, 4, 4, 256, 3, 1, 1);
            Random r = new Random(5);
            run(fresh, g, random(r, g.n() * g.c() * 16), random(r, g.k() * g.c() * 9), random(r, g.n() * g.k() * 16));
            assertEquals(0, fresh.oneDnnPlans(), C - 1 + " input channels");
        }
    }

    @Test
    void repeatedCallsReuseTheirPlanAndBuffers() {
        // the native buffers are shared by every geometry and grow to the largest: a small layer after a large one
        // must read only its own inputs, and a result must not depend on what ran before
        ConvGeometry large = ConvGeometry.square(4, C, 4, 4, C, 3, 1, 1), small = ConvGeometry.square(1, C, 4, 4, C, 3, 1, 1);
        Random r = new Random(9);
        float[] xs = random(r, small.n() * small.c() * 16), ws = random(r, small.k() * small.c() * 9);
        float[] dys = random(r, small.n() * small.k() * 16);
        float[][] first = run(withOneDnn, small, xs, ws, dys);
        run(withOneDnn, large, random(r, large.n() * large.c() * 16), random(r, large.k() * large.c() * 9),
                random(r, large.n() * large.k() * 16));
        float[][] again = run(withOneDnn, small, xs, ws, dys);
        for (int i = 0; i < 3; i++) {
            assertTrue(java.util.Arrays.equals(first[i], again[i]), "output " + i + " changed");
        }
    }

    /** forward y, dx, dw of g on be, outputs NaN-filled first. */
    private static float[][] run(CpuBackend be, ConvGeometry g, float[] x, float[] w, float[] dy) {
        Tensor tx = be.fromHost(x, g.inputShape()), tw = be.fromHost(w, g.filterShape());
        Tensor tdy = be.fromHost(dy, g.outputShape());
        Tensor y = be.allocate(g.outputShape()), dx = be.allocate(g.inputShape()), dw = be.allocate(g.filterShape());
        for (Tensor t : List.of(y, dx, dw)) {
            be.fill(t, Float.NaN);
        }
        be.conv2dForward(g, tx, tw, y);
        be.conv2dBackwardData(g, tw, tdy, dx);
        be.conv2dBackwardFilter(g, tx, tdy, dw);
        return new float[][] {data(y).clone(), data(dx).clone(), data(dw).clone()};
    }
}
