package io.kiln.service.devices;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.cuda.CudaDevices;
import io.kiln.service.config.KilnConfig;
import jakarta.inject.Singleton;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The devices this server runs jobs on: one slot per GPU, and a CPU slot when configured (by default only
 * when there is no GPU). GPUs are discovered once at start-up through the engine's CUDA bindings.
 */
@Singleton
public class DeviceInventory {
    /** A place a job can run: {@code cpu} or {@code cuda:N}, with the CUDA_VISIBLE_DEVICES value for its worker. */
    public record Slot(String name, String visibleDevices) {
        public boolean gpu() {
            return name.startsWith("cuda");
        }
    }

    private final List<CudaDevices.Gpu> gpus;
    private final String gpuReason;
    private final List<Slot> slots = new ArrayList<>();
    /** Slot name to the id of the job running there. */
    private final Map<String, Long> occupants = new ConcurrentHashMap<>();

    public DeviceInventory(KilnConfig config) {
        CudaDevices.Discovery d = CudaDevices.discover(false);
        this.gpus = d.gpus();
        this.gpuReason = d.reason();
        for (CudaDevices.Gpu g : gpus) {
            slots.add(new Slot("cuda:" + g.index(), Integer.toString(g.index())));
        }
        boolean cpu = config.getCpuSlot() != null ? config.getCpuSlot() : gpus.isEmpty();
        if (cpu) {
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
    public java.util.Optional<CudaDevices.Gpu> largestGpuFor(String requested) {
        return gpus.stream().filter(g -> fits(requested, new Slot("cuda:" + g.index(), null)))
                .max(java.util.Comparator.comparingLong(CudaDevices.Gpu::totalBytes));
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

    /** Whether a job asking for {@code requested} (auto, cpu, cuda, cuda:N) may run in the slot. */
    public boolean fits(String requested, Slot slot) {
        return switch (requested) {
            case "auto" -> slot.gpu() || gpus.isEmpty();
            case "cpu" -> !slot.gpu();
            case "cuda" -> slot.gpu();
            default -> slot.name().equals(requested);
        };
    }

    /** GET /devices: each GPU (name, memory, compute capability, job) and the CPU. */
    public ArrayNode describe(ObjectMapper json) {
        ArrayNode out = json.createArrayNode();
        List<CudaDevices.Gpu> fresh = gpus.isEmpty() ? gpus : CudaDevices.discover(true).gpus();
        for (CudaDevices.Gpu g : fresh) {
            ObjectNode n = out.addObject();
            n.put("name", "cuda:" + g.index());
            n.put("kind", "gpu");
            n.put("model", g.name());
            n.put("memoryTotalBytes", g.totalBytes());
            n.put("memoryUsedBytes", g.freeBytes() > 0 ? g.totalBytes() - g.freeBytes() : 0);
            n.put("computeCapability", g.computeCapability());
            n.putNull("utilization");
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
