package io.kiln.service.devices;

import io.kiln.engine.backend.cuda.CudaDevices;
import java.util.OptionalInt;

/**
 * How this server learns its GPUs. The service's own is {@link CudaGpuDiscovery}; tests put fake GPUs in its
 * place to see how the service behaves on a GPU server without one.
 */
public interface GpuDiscovery {
    /**
     * The GPUs (possibly none, with the reason). {@code freeMemory} says the caller wants each GPU's free memory
     * (GET /devices); an implementation must read it without a CUDA context of its own (see
     * {@link CudaGpuDiscovery}), and gives -1 where it cannot.
     */
    CudaDevices.Discovery discover(boolean freeMemory);

    /** The GPU's utilisation in percent at the last {@link #discover}, when known. */
    default OptionalInt utilizationPercent(int index) {
        return OptionalInt.empty();
    }
}
