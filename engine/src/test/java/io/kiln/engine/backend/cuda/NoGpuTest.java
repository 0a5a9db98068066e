package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.Backends;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.cli.EngineMain;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a machine without a usable GPU (CI) does: auto is the CPU, cuda fails clearly, gpu-check exits 2. */
class NoGpuTest {
    /** Holds on every machine: either GPUs and no reason, or no GPU and a reason that says so. */
    @Test
    void discoveryNeverThrowsAndEitherListsGpusOrSaysWhyNot() {
        CudaDevices.Discovery d = CudaDevices.discover(true);
        if (d.available()) {
            assertNull(d.reason(), d.reason());
            for (int i = 0; i < d.gpus().size(); i++) {
                CudaDevices.Gpu g = d.gpus().get(i);
                assertEquals(i, g.index());
                assertFalse(g.name().isBlank(), g.toString());
                assertTrue(g.totalBytes() > 0 && g.freeBytes() <= g.totalBytes() && g.multiprocessors() > 0, g.toString());
            }
            assertEquals(d.gpus().size(), CudaDevices.list().size());
            assertNull(CudaDevices.unavailableReason());
        } else {
            assertEquals(List.of(), d.gpus());
            assertTrue(d.reason().startsWith("no CUDA device found"), d.reason());
            assertEquals(List.of(), CudaDevices.list());
            assertEquals(d.reason(), CudaDevices.unavailableReason());
        }
    }

    @Test
    void autoFallsBackToTheCpu() {
        assumeFalse(CudaSupport.gpuPresent(), "a CUDA device is present");
        try (Backend b = Backends.create("auto")) {
            assertTrue(b instanceof CpuBackend, b.name());
        }
    }

    @Test
    void cudaSaysWhatIsMissing() {
        assumeFalse(CudaSupport.gpuPresent(), "a CUDA device is present");
        for (String dev : new String[] {"cuda", "cuda:0", "cuda:3"}) {
            Backends.DeviceUnavailableException e = assertThrows(Backends.DeviceUnavailableException.class,
                    () -> Backends.create(dev));
            String m = e.getMessage();
            assertTrue(m.startsWith("device " + dev + " requested, but "), m);
            assertTrue(m.contains("libcuda.so.1") || m.contains("no CUDA device"), m);
        }
        assertThrows(Backends.DeviceUnavailableException.class, () -> Backends.create("cuda:x"));
        assertThrows(Backends.DeviceUnavailableException.class, () -> Backends.create("gpu"));
    }

    @Test
    void gpuCheckExitsNonZeroSayingNoDeviceWasFound() {
        assumeFalse(CudaSupport.gpuPresent(), "a CUDA device is present");
        PrintStream out = System.out, err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
        int code;
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            code = EngineMain.run("gpu-check");
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
        assertEquals(2, code);
        String text = e.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("no CUDA device found"), text);
        assertTrue(o.toString(StandardCharsets.UTF_8).contains("0 passed, 0 failed"), o.toString(StandardCharsets.UTF_8));
        assertFalse(text.contains("Exception"), text);
    }
}
