package io.kiln.service.devices;

import io.kiln.engine.backend.cuda.CudaDevices;
import jakarta.inject.Singleton;

/** The machine's CUDA devices, through the engine's bindings to the driver. */
@Singleton
public class CudaGpuDiscovery implements GpuDiscovery {
    @Override
    public CudaDevices.Discovery discover(boolean freeMemory) {
        return CudaDevices.discover(freeMemory);
    }
}
