package io.kiln.service.devices;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.cuda.CudaDevices;
import io.kiln.service.config.KilnConfig;
import jakarta.inject.Singleton;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The devices this server runs jobs on: one slot per GPU, and a CPU slot as {@code kiln.cpu-slot} says (by default
 * only when there is no GPU). GPUs are discovered once at start-up through the {@link GpuDiscovery}.
 */
@Singleton
public class DeviceInventory {
    /** A place a job can run: {@code cpu} or {@code cuda:N}, with the CUDA_VISIBLE_DEVICES value for its worker. */
    public record Slot(String name, String visibleDevices) {
        public boolean gpu() {
            return name.startsWith("cuda");
        }
    }

    private final GpuDiscovery discovery;
    private final List<CudaDevices.Gpu> gpus;
    private final String gpuReason;
    private final List<Slot> slots = new ArrayList<>();
    /** Slot name to the id of the job running there. */
    private final Map<String, Long> occupants = new ConcurrentHashMap<>();

    public DeviceInventory(KilnConfig config, GpuDiscovery discovery) {
        this.discovery = discovery;
        CudaDevices.Discovery d = discovery.discover(false);
        this.gpus = d.gpus();
        this.gpuReason = d.reason();
        for (CudaDevices.Gpu g : gpus) {
            slots.add(new Slot("cuda:" + g.index(), Integer.toString(g.index())));
        }
        if (config.cpuSlot().enabled(gpus.size())) {
            slots.add(new Slot("cpu", null));
        }
    }

    public List<Slot> slots() {
        return slots;
    }

    public int gpuCount() {
        return gpus.size();
    }

    /** The GPU with the most memory among those a job asking for {@code requested} may run on, if any. */
    public Optional<CudaDevices.Gpu> largestGpuFor(String requested) {
        return gpus.stream().filter(g -> fits(requested, new Slot("cuda:" + g.index(), null)))
                .max(Comparator.comparingLong(CudaDevices.Gpu::totalBytes));
    }

    public void occupy(String slot, long jobId) {
        occupants.put(slot, jobId);
    }

    public void release(String slot) {
        occupants.remove(slot);
    }

    public boolean free(String slot) {
        return !occupants.containsKey(slot);
    }

    /**
     * The device requests (a spec's auto, cpu, cuda, cuda:N) a job in the slot satisfies: a GPU slot takes
     * {@code auto}, {@code cuda} and its own name; the CPU slot takes {@code cpu}, and {@code auto} only on a
     * server without GPUs (where there are GPUs, a job that leaves the choice to Kiln waits for one).
     */
    public Set<String> requestsFor(Slot slot) {
        if (slot.gpu()) {
            return Set.of("auto", "cuda", slot.name());
        }
        return gpus.isEmpty() ? Set.of("auto", "cpu") : Set.of("cpu");
    }

    /** Whether a job asking for {@code requested} may run in the slot. */
    public boolean fits(String requested, Slot slot) {
        return requestsFor(slot).contains(requested);
    }

    /** GET /devices: each GPU (name, memory, compute capability, job) and the CPU. */
    public ArrayNode describe() {
        ArrayNode out = JsonNodeFactory.instance.arrayNode();
        List<CudaDevices.Gpu> fresh = gpus.isEmpty() ? gpus : discovery.discover(true).gpus();
        for (CudaDevices.Gpu g : fresh) {
            ObjectNode n = out.addObject();
            n.put("name", "cuda:" + g.index());
            n.put("kind", "gpu");
            n.put("model", g.name());
            n.put("memoryTotalBytes", g.totalBytes());
            if (g.freeBytes() >= 0) {
                n.put("memoryUsedBytes", g.totalBytes() - g.freeBytes());
            } else {
                n.putNull("memoryUsedBytes"); // unknown, not zero
            }
            n.put("computeCapability", g.computeCapability());
            var util = discovery.utilizationPercent(g.index());
            if (util.isPresent()) {
                n.put("utilization", util.getAsInt() / 100.0);
            } else {
                n.putNull("utilization");
            }
            Long job = occupants.get("cuda:" + g.index());
            n.put("job", job == null ? null : job.toString());
        }
        ObjectNode cpu = out.addObject();
        cpu.put("name", "cpu");
        cpu.put("kind", "cpu");
        cpu.put("cores", Runtime.getRuntime().availableProcessors());
        var os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            cpu.put("memoryTotalBytes", sun.getTotalMemorySize());
            cpu.put("memoryUsedBytes", sun.getTotalMemorySize() - sun.getFreeMemorySize());
            cpu.put("utilization", Math.max(0, sun.getCpuLoad()));
        }
        cpu.put("slot", slots.stream().anyMatch(s -> !s.gpu()));
        Long job = occupants.get("cpu");
        cpu.put("job", job == null ? null : job.toString());
        if (gpus.isEmpty()) {
            cpu.put("gpuUnavailable", gpuReason);
        }
        return out;
    }
}
