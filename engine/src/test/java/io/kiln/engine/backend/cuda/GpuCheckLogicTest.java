package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.Precision;
import io.kiln.engine.backend.cpu.CpuBackend;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * gpu-check's comparisons run without a GPU by checking the CPU backend against itself (one thread against
 * several): every check body must run and pass, so that on a GPU a failure means the GPU differs.
 */
class GpuCheckLogicTest {
    @Test
    void everyCheckRunsAndPassesCpuAgainstCpu() {
        try (CpuBackend a = new CpuBackend(1); CpuBackend b = new CpuBackend(2)) {
            List<GpuCheck.Result> results = GpuCheck.run(a, b, Precision.FP32, r -> { });
            String failed = results.stream().filter(r -> !r.passed()).map(GpuCheck.Result::line)
                    .collect(Collectors.joining("\n"));
            assertTrue(failed.isEmpty(), failed);
            assertTrue(results.size() > 100, "only " + results.size() + " checks");
            assertTrue(results.stream().anyMatch(r -> r.op().startsWith("training steps")));
        }
    }
}
