package io.kiln.engine.cli;

import io.kiln.engine.backend.Precision;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.backend.cuda.CudaBackend;
import io.kiln.engine.backend.cuda.CudaDevices;
import io.kiln.engine.backend.cuda.CudaException;
import io.kiln.engine.backend.cuda.CudaUnavailableException;
import io.kiln.engine.backend.cuda.GpuCheck;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code gpu-check}: compares every GPU operation with the CPU reference. */
@Command(name = "gpu-check", mixinStandardHelpOptions = true,
        description = "Runs every GPU operation forward and backward on random inputs and compares it with the CPU "
                + "reference; prints one line per operation, then 'N passed, M failed'. Exit codes: 0 all passed, "
                + "1 a comparison failed, 2 no usable CUDA device.")
final class GpuCheckCommand implements Callable<Integer> {
    @Option(names = "--device", paramLabel = "D", defaultValue = "cuda:0", description = "cuda or cuda:N (default cuda:0)")
    String device;

    @Mixin
    PrecisionOption precision;

    @Override
    public Integer call() {
        Precision p;
        int ordinal;
        try {
            p = precision.parse();
            ordinal = device.equals("cuda") ? 0 : Integer.parseInt(device.substring(device.indexOf(':') + 1));
            if (!device.startsWith("cuda")) {
                throw new IllegalArgumentException("--device must be cuda or cuda:N");
            }
        } catch (RuntimeException e) {
            System.err.println("gpu-check: " + e.getMessage());
            return TrainCommand.EXIT_BAD_INPUT;
        }
        CudaDevices.Discovery d = CudaDevices.discover(true);
        if (!d.available()) {
            System.err.println("gpu-check: " + d.reason());
            System.out.println("0 passed, 0 failed (no CUDA device found)");
            return TrainCommand.EXIT_BAD_INPUT;
        }
        // every error is reported by the operation that caused it
        System.setProperty("kiln.cuda.sync", "true");
        int[] counts = new int[2];
        try (CudaBackend gpu = CudaBackend.create(ordinal, p); CpuBackend cpu = new CpuBackend()) {
            CudaDevices.Gpu g = gpu.gpu();
            System.out.println("device " + gpu.name() + ", compute capability " + g.computeCapability() + ", "
                    + g.multiprocessors() + " SMs, precision " + p.label() + ", driver CUDA " + d.driverVersion() / 1000
                    + "." + d.driverVersion() % 1000 / 10);
            for (String lib : gpu.libraries()) {
                System.out.println("  " + lib);
            }
            try {
                List<GpuCheck.Result> results = GpuCheck.run(gpu, cpu, p, r -> {
                    System.out.println(r.line());
                    counts[r.passed() ? 0 : 1]++;
                });
                assert results.size() == counts[0] + counts[1];
            } catch (CudaException e) {
                System.out.println("stopped: " + e.getMessage());
                counts[1]++;
            }
            System.out.println("memory: " + gpu.memoryStats());
        } catch (CudaUnavailableException e) {
            System.err.println("gpu-check: no usable CUDA device: " + e.getMessage());
            System.out.println("0 passed, 0 failed (no usable CUDA device)");
            return TrainCommand.EXIT_BAD_INPUT;
        } catch (CudaException e) {
            System.err.println("gpu-check: " + e.getMessage());
            counts[1]++;
        }
        System.out.println(counts[0] + " passed, " + counts[1] + " failed");
        return counts[1] == 0 ? 0 : 1;
    }
}
