package io.kiln.service.devices;

import io.kiln.engine.backend.cuda.CudaDevices;

/**
 * How this server learns its GPUs. The service's own is {@link CudaGpuDiscovery}; tests put fake GPUs in its
 * place to see how the service behaves on a GPU server without one.
 */
public interface GpuDiscovery {
    /**
     * The GPUs (possibly none, with the reason). {@code freeMemory} asks for each GPU's free memory too, which costs
     * a CUDA context per device: the inventory asks for it only when someone looks at the devices.
     */
    CudaDevices.Discovery discover(boolean freeMemory);
}
