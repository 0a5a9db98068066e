package io.kiln.service.devices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.cuda.CudaDevices;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** Device facts through nvidia-smi (fixtures of its output, a fake runner): no CUDA context involved. */
class CudaGpuDiscoveryTest {
    private static String fixture(String name) throws IOException {
        try (InputStream in = CudaGpuDiscoveryTest.class.getResourceAsStream("/nvidia-smi/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void parsesMemoryCapabilityAndUtilisationAndUnknowns() throws IOException {
        List<NvidiaSmi.Reading> r = NvidiaSmi.parse(fixture("two-gpus.csv"));
        assertEquals(2, r.size());
        CudaDevices.Gpu h200 = r.get(0).gpu();
        assertEquals("NVIDIA H200", h200.name());
        assertEquals(143771L << 20, h200.totalBytes());
        assertEquals(142750L << 20, h200.freeBytes());
        assertEquals("9.0", h200.computeCapability());
        assertEquals(1021L << 20, r.get(0).usedBytes());
        assertEquals(3, r.get(0).utilizationPercent());
        assertEquals("6.1", r.get(1).gpu().computeCapability());
        assertEquals(-1, r.get(1).usedBytes(), "[N/A] is unknown");
        assertEquals(-1, r.get(1).utilizationPercent(), "[Not Supported] is unknown");
    }

    @Test
    void aNameWithCommasAndABadLine() {
        List<NvidiaSmi.Reading> r = NvidiaSmi.parse("3, Tesla K80, rev, 2, 11441, 0, 11441, 0, 3.7\n");
        assertEquals("Tesla K80, rev, 2", r.get(0).gpu().name());
        assertEquals(3, r.get(0).gpu().index());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NvidiaSmi.parse("0, H100, 80\n"));
        assertTrue(e.getMessage().contains("0, H100, 80"), e.getMessage());
    }

    @Test
    void discoveryRunsTheQueryAndKeepsUtilisation() throws IOException {
        List<List<String>> ran = new ArrayList<>();
        String out = fixture("two-gpus.csv");
        CudaGpuDiscovery d = new CudaGpuDiscovery(c -> {
            ran.add(c);
            return out;
        }, "/opt/nvidia/bin/nvidia-smi");
        CudaDevices.Discovery found = d.discover(true);
        assertTrue(found.available());
        assertEquals(List.of("NVIDIA H200", "NVIDIA GeForce GTX 1050 Ti"), found.gpus().stream().map(CudaDevices.Gpu::name).toList());
        assertEquals("/opt/nvidia/bin/nvidia-smi", ran.get(0).get(0));
        assertTrue(ran.get(0).get(1).startsWith("--query-gpu="), ran.toString());
        assertEquals(OptionalInt.of(3), d.utilizationPercent(0));
        assertEquals(OptionalInt.empty(), d.utilizationPercent(1));
        assertEquals(null, d.smiProblem());
    }

    @Test
    void withoutNvidiaSmiItFallsBackToTheDriverWithoutAContext() {
        CudaGpuDiscovery d = new CudaGpuDiscovery(c -> null, "nvidia-smi");
        CudaDevices.Discovery found = d.discover(true);
        // this machine has no GPU: the driver path says so; on a GPU machine it lists them with freeBytes -1
        assertTrue(found.available() || found.reason() != null);
        found.gpus().forEach(g -> assertEquals(-1, g.freeBytes(), "no context was made to read free memory"));
        assertTrue(d.smiProblem().contains("nvidia-smi"), d.smiProblem());
        assertFalse(d.utilizationPercent(0).isPresent());
    }
}
