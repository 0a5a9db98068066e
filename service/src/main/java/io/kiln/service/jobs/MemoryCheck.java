package io.kiln.service.jobs;

import io.kiln.engine.data.Dataset;
import io.kiln.engine.data.DatasetLoader;
import io.kiln.engine.nn.MemoryEstimate;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.service.config.KilnPaths;
import io.kiln.service.devices.DeviceInventory;
import jakarta.inject.Singleton;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Refuses, at submission, a job whose estimated training memory cannot fit the largest GPU it may run on,
 * giving both figures. Only servers with GPUs check (the CPU's memory is the worker heap's business).
 */
@Singleton
public class MemoryCheck {
    private final DeviceInventory devices;
    private final KilnPaths paths;
    /** Sample shape and class count per dataset, read once. */
    private final Map<String, Object[]> shapes = new ConcurrentHashMap<>();

    public MemoryCheck(DeviceInventory devices, KilnPaths paths) {
        this.devices = devices;
        this.paths = paths;
    }

    public void check(JobSpec spec) {
        if (spec.device().equals("cpu")) {
            return;
        }
        devices.largestGpuFor(spec.device()).ifPresent(gpu -> {
            Object[] shape = shapes.computeIfAbsent(spec.data().name(), name -> {
                Dataset train = DatasetLoader.load(paths.dataRoot(), name).train();
                return new Object[] {train.sampleShape(), train.numClasses()};
            });
            MemoryEstimate e = MemoryEstimate.of(spec, (int[]) shape[0], (Integer) shape[1]);
            refusal(e, gpu.name(), gpu.totalBytes()).ifPresent(message -> {
                throw new SpecException("training.batchSize", message);
            });
        });
    }

    /** Why a job of this estimate cannot run on a GPU of {@code gpuBytes}, if it cannot. */
    static Optional<String> refusal(MemoryEstimate e, String gpuName, long gpuBytes) {
        if (e.totalBytes() <= gpuBytes) {
            return Optional.empty();
        }
        return Optional.of("the job needs about " + e.describe() + " of GPU memory, but the largest GPU it may run on ("
                + gpuName + ") has " + MemoryEstimate.gib(gpuBytes) + "; lower training.batchSize or use a smaller model");
    }
}
