package io.kiln.engine.backend;

import io.kiln.engine.backend.cpu.CpuBackend;

/** Chooses the backend for a device name: {@code auto}, {@code cpu}, {@code cuda} or {@code cuda:N}. */
public final class Backends {
    private Backends() {
    }

    /** Thrown when the requested device does not exist here; the message says what there is. */
    public static final class DeviceUnavailableException extends RuntimeException {
        public DeviceUnavailableException(String message) {
            super(message);
        }
    }

    public static Backend create(String device) {
        if (device == null || device.equals("auto") || device.equals("cpu")) {
            // No CUDA backend in this build yet: auto falls back to the CPU.
            return new CpuBackend();
        }
        if (device.equals("cuda") || device.startsWith("cuda:")) {
            throw new DeviceUnavailableException("device " + device + " requested, but no CUDA device was found "
                    + "(this build of Kiln has no CUDA backend yet); use \"device\": \"cpu\" or \"auto\"");
        }
        throw new DeviceUnavailableException("unknown device \"" + device + "\"; use auto, cpu, cuda or cuda:N");
    }
}
