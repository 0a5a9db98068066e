package io.kiln.service.devices;

import io.kiln.cuda.ToolProcess;
import io.kiln.engine.backend.cuda.CudaDevices;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The machine's GPUs, read without a CUDA context: through {@code nvidia-smi --query-gpu} (NVML underneath),
 * or, where nvidia-smi is missing or fails, through the CUDA driver's device queries alone (names, total memory
 * and capability; free memory unknown). Never through a context of its own: creating one on every GPU each
 * time the device list is read (the dashboard reads it every 2 s) cost 0.1-0.5 s and about 0.5 GiB per GPU,
 * showed that context's memory as used, and failed in EXCLUSIVE_PROCESS mode while a worker trained.
 *
 * <p>{@code kiln.nvidia-smi} (default {@code nvidia-smi}) names the program, {@code kiln.nvidia-smi-timeout-s}
 * (default 5) bounds its run.
 */
@Singleton
public class CudaGpuDiscovery implements GpuDiscovery {
    /** Runs a command and returns its output, or null when it cannot be run or exits non-zero. */
    interface Runner extends Function<List<String>, String> {
    }

    private final Runner runner;
    private final List<String> command;
    private final Map<Integer, Integer> utilization = new ConcurrentHashMap<>();
    private volatile String smiProblem;

    @Inject
    public CudaGpuDiscovery(@Value("${kiln.nvidia-smi:nvidia-smi}") String program,
                            @Value("${kiln.nvidia-smi-timeout-s:5}") long timeoutSeconds) {
        this(runner(checkTimeout(timeoutSeconds)), program);
    }

    private static long checkTimeout(long seconds) {
        if (seconds < 1 || seconds > 120) {
            throw new IllegalArgumentException("kiln.nvidia-smi-timeout-s must be 1 to 120 seconds, not " + seconds);
        }
        return seconds;
    }

    private static Runner runner(long timeoutSeconds) {
        return command -> {
            try {
                ToolProcess.Result r = ToolProcess.run(command, null, timeoutSeconds);
                return r.exit() == 0 ? r.output() : null;
            } catch (IOException e) {
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        };
    }

    CudaGpuDiscovery(Runner runner, String program) {
        this.runner = runner;
        List<String> c = new java.util.ArrayList<>(NvidiaSmi.COMMAND);
        c.set(0, program);
        this.command = List.copyOf(c);
    }

    @Override
    public CudaDevices.Discovery discover(boolean freeMemory) {
        String out = runner.apply(command);
        if (out != null) {
            try {
                List<NvidiaSmi.Reading> readings = NvidiaSmi.parse(out);
                if (!readings.isEmpty()) {
                    smiProblem = null;
                    for (NvidiaSmi.Reading r : readings) {
                        utilization.put(r.gpu().index(), r.utilizationPercent());
                    }
                    return new CudaDevices.Discovery(readings.stream().map(NvidiaSmi.Reading::gpu).toList(), null, 0);
                }
            } catch (IllegalArgumentException e) {
                smiProblem = "nvidia-smi's output could not be read: " + e.getMessage();
            }
        } else {
            smiProblem = command.get(0) + " could not be run or failed";
        }
        utilization.clear();
        // no context: names, memory totals and capability only
        return CudaDevices.discover(false);
    }

    @Override
    public OptionalInt utilizationPercent(int index) {
        Integer u = utilization.get(index);
        return u == null || u < 0 ? OptionalInt.empty() : OptionalInt.of(u);
    }

    /** Why the last reading did not come from nvidia-smi, or null when it did. */
    String smiProblem() {
        return smiProblem;
    }
}
