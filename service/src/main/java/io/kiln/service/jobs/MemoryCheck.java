package io.kiln.service.jobs;

import io.kiln.engine.nn.MemoryEstimate;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.service.config.ByteSizes;
import io.kiln.service.config.KilnConfig;
import io.kiln.service.devices.DeviceInventory;
import jakarta.inject.Singleton;
import java.lang.management.ManagementFactory;
import java.util.Optional;

/**
 * Refuses, at submission, a job whose estimated training memory cannot fit where it would run, giving both
 * figures: the largest GPU it may run on for a GPU job, and for every job the worker's Java heap (kiln.worker-heap),
 * which holds the dataset, and on the CPU the tensors too, and which cannot be larger than the machine's RAM. A
 * worker that runs out all the same exits with the out-of-memory code and its job says so.
 */
@Singleton
public class MemoryCheck {
    private final DeviceInventory devices;
    private final KilnConfig config;
    private final long heapBytes;
    private final long ramBytes;

    public MemoryCheck(DeviceInventory devices, KilnConfig config) {
        this(devices, config, machineRam());
    }

    MemoryCheck(DeviceInventory devices, KilnConfig config, long ramBytes) {
        this.devices = devices;
        this.config = config;
        this.heapBytes = ByteSizes.parseJavaSize(config.workerHeap());
        this.ramBytes = ramBytes;
    }

    /** @throws SpecException naming training.batchSize when the job does not fit */
    public void check(JobSpec spec, MemoryEstimate estimate, DatasetFacts.Facts data) {
        boolean gpu = !spec.device().equals("cpu") && devices.largestGpuFor(spec.device()).isPresent();
        if (gpu) {
            var g = devices.largestGpuFor(spec.device()).orElseThrow();
            refusal(estimate, g.name(), g.totalBytes()).ifPresent(message -> {
                throw new SpecException("training.batchSize", message);
            });
        }
        // A GPU worker's heap holds the dataset; a CPU worker's the tensors as well.
        long heapNeed = gpu ? data.bytes() + MemoryEstimate.WORKER_BASE_BYTES : estimate.cpuHeapBytes(data.bytes());
        String what = gpu ? "to hold its dataset (" + ByteSizes.format(data.bytes()) + ")"
                : "on the CPU: " + estimate.describe(heapNeed) + ", with its dataset of " + ByteSizes.format(data.bytes());
        if (heapNeed > heapBytes) {
            throw new SpecException("training.batchSize", "the job needs about " + ByteSizes.format(heapNeed)
                    + " of worker memory " + what + ", but the worker heap is " + ByteSizes.format(heapBytes)
                    + " (kiln.worker-heap = " + config.workerHeap() + "); lower training.batchSize, use a smaller model"
                    + " or raise kiln.worker-heap");
        }
        if (heapNeed > ramBytes) {
            throw new SpecException("training.batchSize", "the job needs about " + ByteSizes.format(heapNeed)
                    + " of worker memory " + what + ", but this machine has " + ByteSizes.format(ramBytes)
                    + " of RAM; lower training.batchSize or use a smaller model");
        }
    }

    /** Why a job of this estimate cannot run on a GPU of {@code gpuBytes}, if it cannot. */
    static Optional<String> refusal(MemoryEstimate e, String gpuName, long gpuBytes) {
        if (e.totalBytes() <= gpuBytes) {
            return Optional.empty();
        }
        return Optional.of("the job needs about " + e.describe() + " of GPU memory, but the largest GPU it may run on ("
                + gpuName + ") has " + MemoryEstimate.gib(gpuBytes) + "; lower training.batchSize or use a smaller model");
    }

    private static long machineRam() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return Long.MAX_VALUE;
    }
}
