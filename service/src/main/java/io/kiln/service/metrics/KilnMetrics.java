package io.kiln.service.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.service.devices.DeviceInventory;
import io.kiln.service.store.JobRepository;
import io.kiln.service.store.JobState;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Context;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Kiln's own Prometheus series: queue length, jobs by state, running jobs and memory per device, and the
 * step time of running jobs. Values are read from the store when Prometheus scrapes.
 */
@Context
public class KilnMetrics {
    private final JobRepository jobs;
    private final DeviceInventory devices;
    private final AtomicReference<JsonNode> deviceCache = new AtomicReference<>();
    private volatile long deviceCacheAt;

    public KilnMetrics(MeterRegistry registry, JobRepository jobs, DeviceInventory devices) {
        this.jobs = jobs;
        this.devices = devices;
        Gauge.builder("kiln_queue_length", () -> shown(JobState.QUEUED))
                .description("jobs waiting for a device (in Kiln's queue or a batch system's)").register(registry);
        for (JobState s : JobState.values()) {
            Gauge.builder("kiln_jobs", () -> shown(s)).tag("state", s.name())
                    .description("jobs by state").register(registry);
        }
        for (DeviceInventory.Slot slot : devices.slots()) {
            Gauge.builder("kiln_running_jobs", () -> devices.free(slot.name()) ? 0 : 1).tag("device", slot.name())
                    .description("jobs running on the device (this server)").register(registry);
        }
        Gauge.builder("kiln_step_seconds", this::meanStepSeconds)
                .description("mean seconds per training step of the running jobs (0 when none)").register(registry);
        for (String kind : new String[] {"used", "total"}) {
            for (DeviceInventory.Slot slot : devices.slots()) {
                Gauge.builder("kiln_device_memory_bytes", () -> memory(slot.name(), kind)).tag("device", slot.name())
                        .tag("kind", kind).description("device memory").register(registry);
            }
        }
    }

    /** Jobs in a state as users see it: a run that a batch system holds back counts as queued, not running. */
    private long shown(JobState s) {
        long waiting = s == JobState.QUEUED || s == JobState.RUNNING
                ? jobs.countByStateAndWaitingReasonIsNotNull(JobState.RUNNING.name()) : 0;
        return jobs.countByState(s.name()) + (s == JobState.QUEUED ? waiting : -waiting);
    }

    private double meanStepSeconds() {
        double sum = 0;
        int n = 0;
        for (var j : jobs.findByStateOrderBySubmittedAt(JobState.RUNNING.name())) {
            JsonNode m = io.kiln.service.jobs.JobViews.parse(j.latestMetrics());
            double samplesPerSecond = m.path("samples_per_s").asDouble(0);
            int batch = io.kiln.service.jobs.JobViews.parse(j.spec()).path("training").path("batchSize").asInt(100);
            if (samplesPerSecond > 0) {
                sum += batch / samplesPerSecond;
                n++;
            }
        }
        return n == 0 ? 0 : sum / n;
    }

    private double memory(String device, String kind) {
        long now = System.nanoTime();
        if (deviceCache.get() == null || now - deviceCacheAt > 5_000_000_000L) {
            deviceCache.set(devices.describe());
            deviceCacheAt = now;
        }
        for (JsonNode d : deviceCache.get()) {
            if (d.path("name").asText().equals(device)) {
                return d.path(kind.equals("used") ? "memoryUsedBytes" : "memoryTotalBytes").asDouble(0);
            }
        }
        return 0;
    }
}
