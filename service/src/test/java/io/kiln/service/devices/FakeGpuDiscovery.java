package io.kiln.service.devices;

import io.kiln.engine.backend.cuda.CudaDevices;
import io.micronaut.context.annotation.Property;
import io.micronaut.context.annotation.Replaces;
import io.micronaut.context.annotation.Requires;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;

/**
 * GPUs that are not there, for tests of a GPU server on a machine without one: with the test property
 * {@value #PROPERTY} = {@code "NAME:BYTES,NAME:BYTES"}, the service sees those GPUs (compute capability 8.0, half
 * their memory free) in place of the machine's. A job the scheduler placed on one would fail in its worker: tests
 * using them run CPU jobs, or jobs refused at submission.
 */
@Singleton
@Replaces(CudaGpuDiscovery.class)
@Requires(property = FakeGpuDiscovery.PROPERTY)
public class FakeGpuDiscovery implements GpuDiscovery {
    public static final String PROPERTY = "kiln-test.fake-gpus";
    private final List<CudaDevices.Gpu> gpus = new ArrayList<>();

    public FakeGpuDiscovery(@Property(name = PROPERTY) String spec) {
        for (String gpu : spec.split(",")) {
            int colon = gpu.lastIndexOf(':');
            long bytes = Long.parseLong(gpu.substring(colon + 1).trim());
            gpus.add(new CudaDevices.Gpu(gpus.size(), gpu.substring(0, colon).trim(), bytes, bytes / 2, 8, 0, 16));
        }
    }

    @Override
    public CudaDevices.Discovery discover(boolean freeMemory) {
        return new CudaDevices.Discovery(List.copyOf(gpus), null, 12_000);
    }
}
