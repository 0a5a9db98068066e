package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.Backends;
import io.kiln.engine.backend.Precision;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.tensor.Tensor;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The CUDA backend against the CPU reference: every operation forward and backward (the same comparisons as
 * {@code gpu-check}). Skipped, with the reason, where no CUDA device can be used.
 */
class CudaBackendGpuTest {
    @BeforeEach
    void needsGpu() {
        CudaSupport.assumeGpu();
    }

    private static void allPass(Precision precision) {
        System.setProperty("kiln.cuda.sync", "true");
        try (CudaBackend gpu = CudaBackend.create(0, precision); CpuBackend cpu = new CpuBackend()) {
            List<GpuCheck.Result> results = GpuCheck.run(gpu, cpu, precision, r -> System.out.println(r.line()));
            String failed = results.stream().filter(r -> !r.passed()).map(GpuCheck.Result::line)
                    .collect(Collectors.joining("\n"));
            assertTrue(failed.isEmpty(), "failed against the CPU:\n" + failed);
            assertTrue(results.size() > 100, "expected every operation, got " + results.size());
        } finally {
            System.clearProperty("kiln.cuda.sync");
        }
    }

    @Test
    void everyOperationMatchesTheCpuInFp32() {
        allPass(Precision.FP32);
    }

    @Test
    void everyOperationMatchesTheCpuInTf32WithinTf32Tolerances() {
        allPass(Precision.TF32);
    }

    @Test
    void autoPicksTheGpu() {
        try (Backend b = Backends.create("auto")) {
            assertTrue(b.name().startsWith("cuda:0 ("), b.name());
        }
    }

    @Test
    void allocatorReusesMemoryAndReportsIt() {
        try (CudaBackend gpu = CudaBackend.create(0, Precision.FP32)) {
            for (int i = 0; i < 10; i++) {
                try (Tensor t = gpu.allocate(1000, 1000)) {
                    gpu.fill(t, i);
                }
            }
            CudaBackend.MemoryStats s = gpu.memoryStats();
            assertEquals(1, s.deviceAllocations());
            assertEquals(9, s.cacheHits());
            assertEquals(0, s.inUseBytes());
            assertTrue(s.peakInUseBytes() >= 4_000_000L);
            // a reused block comes back zero-filled, and a view reads and writes the same memory
            Tensor a = gpu.allocate(3, 4);
            assertArrayEquals(new float[12], gpu.toHost(a.reshape(12)));
            float[] values = new float[12];
            for (int i = 0; i < 12; i++) {
                values[i] = i - 5.5f;
            }
            gpu.upload(values, a.reshape(2, 6));
            assertArrayEquals(values, gpu.toHost(a));
            a.close();
            assertThrows(IllegalStateException.class, () -> gpu.toHost(a));
        }
    }

    @Test
    void badArgumentsNameTheOperationAndShapes() {
        try (CudaBackend gpu = CudaBackend.create(0, Precision.FP32)) {
            Tensor a = gpu.allocate(2, 3), b = gpu.allocate(4, 5), c = gpu.allocate(2, 5);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> gpu.gemm(false, false, 2, 5, 3, 1f, a, b, 0f, c));
            assertTrue(e.getMessage().startsWith("gemm: B [4, 5]"), e.getMessage());
        }
    }

    @Test
    void noSuchDeviceSaysHowManyThereAre() {
        Backends.DeviceUnavailableException e = assertThrows(Backends.DeviceUnavailableException.class,
                () -> Backends.create("cuda:99"));
        assertTrue(e.getMessage().contains("no CUDA device 99: this machine has"), e.getMessage());
    }
}
