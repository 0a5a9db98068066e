package io.kiln.engine.backend;

import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.backend.cuda.CudaBackend;
import io.kiln.engine.backend.cuda.CudaDevices;
import io.kiln.engine.backend.cuda.CudaUnavailableException;

/**
 * Chooses the backend for a device name: {@code auto} (cuda:0 when a CUDA device is usable, else the CPU),
 * {@code cpu}, {@code cuda} (= {@code cuda:0}) or {@code cuda:N}.
 */
public final class Backends {
    private Backends() {
    }

    /** Thrown when the requested device does not exist here; the message says what there is. */
    public static final class DeviceUnavailableException extends RuntimeException {
        public DeviceUnavailableException(String message) {
            super(message);
        }

        public DeviceUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** {@link #create(String, Precision)} with fp32. */
    public static Backend create(String device) {
        return create(device, Precision.FP32);
    }

    /**
     * The backend for a device name. Precision applies to CUDA (TF32 tensor cores for matrix products and
     * convolutions); the CPU backend always computes in fp32.
     */
    public static Backend create(String device, Precision precision) {
        if (device == null || device.equals("auto")) {
            return auto(precision == null ? Precision.FP32 : precision);
        }
        if (device.equals("cpu")) {
            return new CpuBackend();
        }
        if (device.equals("cuda") || device.startsWith("cuda:")) {
            int ordinal = ordinal(device);
            try {
                return CudaBackend.create(ordinal, precision == null ? Precision.FP32 : precision);
            } catch (CudaUnavailableException e) {
                throw new DeviceUnavailableException("device " + device + " requested, but " + e.getMessage()
                        + "; use \"device\": \"cpu\" or \"auto\"", e);
            }
        }
        throw new DeviceUnavailableException("unknown device \"" + device + "\"; use auto, cpu, cuda or cuda:N");
    }

    private static Backend auto(Precision precision) {
        CudaDevices.Discovery d = CudaDevices.discover(false);
        if (!d.available()) {
            return new CpuBackend();
        }
        try {
            return CudaBackend.create(0, precision);
        } catch (CudaUnavailableException e) {
            // a GPU is there but cannot be used (e.g. no cuBLAS/cuDNN): say so, then run on the CPU
            System.err.println("device auto: cuda:0 (" + d.gpus().get(0).name() + ") is not usable, using the CPU: "
                    + e.getMessage());
            return new CpuBackend();
        }
    }

    static int ordinal(String device) {
        if (device.equals("cuda")) {
            return 0;
        }
        String n = device.substring("cuda:".length());
        try {
            int i = Integer.parseInt(n);
            if (i >= 0) {
                return i;
            }
        } catch (NumberFormatException e) {
            // fall through
        }
        throw new DeviceUnavailableException("bad device \"" + device + "\": cuda:N needs a device number N >= 0");
    }
}
