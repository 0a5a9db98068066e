package io.kiln.engine.backend.cuda;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUresult;

/**
 * The CUDA devices of this machine, for the service ({@code GET /devices}) and for choosing a backend.
 * Never throws: without a driver or a device the list is empty and {@link Discovery#reason()} says why.
 */
public final class CudaDevices {
    private CudaDevices() {
    }

    /** One GPU. freeBytes is -1 when not asked for (reading it creates a context on the device). */
    public record Gpu(int index, String name, long totalBytes, long freeBytes, int major, int minor,
                      int multiprocessors) {
        public String computeCapability() {
            return major + "." + minor;
        }

        /** Kiln's kernels and cuDNN need sm_61 (Pascal) or newer. */
        public boolean supported() {
            return major * 10 + minor >= 61;
        }
    }

    /** The devices found (possibly none), why there are none, and the driver's CUDA version (e.g. 13000). */
    public record Discovery(List<Gpu> gpus, String reason, int driverVersion) {
        public boolean available() {
            return !gpus.isEmpty();
        }
    }

    /** The GPUs with their free memory. */
    public static List<Gpu> list() {
        return discover(true).gpus();
    }

    /**
     * Enumerates the devices; with {@code freeMemory}, briefly retains each device's primary context to read
     * its free memory (costs a context creation per device when no one else holds it).
     */
    public static Discovery discover(boolean freeMemory) {
        try {
            String problem = NativeLibraries.driverProblem();
            if (problem != null) {
                return new Discovery(List.of(), problem, 0);
            }
            int status = cuInit(0);
            if (status != CUresult.CUDA_SUCCESS) {
                return new Discovery(List.of(), status == CUresult.CUDA_ERROR_NO_DEVICE
                        ? "no CUDA device found (the NVIDIA driver reports none)"
                        : "no CUDA device found: the CUDA driver could not be initialised: "
                                + CudaErrors.driverText(status), 0);
            }
            int[] version = new int[1];
            cuDriverGetVersion(version);
            int[] count = new int[1];
            status = cuDeviceGetCount(count);
            if (status != CUresult.CUDA_SUCCESS || count[0] == 0) {
                return new Discovery(List.of(), status != CUresult.CUDA_SUCCESS
                        ? "no CUDA device found: cuDeviceGetCount failed: " + CudaErrors.driverText(status)
                        : "no CUDA device found (the driver reports 0 devices)", version[0]);
            }
            List<Gpu> gpus = new ArrayList<>();
            for (int i = 0; i < count[0]; i++) {
                gpus.add(describe(i, freeMemory));
            }
            return new Discovery(List.copyOf(gpus), null, version[0]);
        } catch (Throwable t) {
            return new Discovery(List.of(), "no CUDA device found: device discovery failed: "
                    + t.getClass().getSimpleName() + ": " + t.getMessage(), 0);
        }
    }

    /**
     * Device {@code ordinal} if Kiln can run on it; else {@link CudaUnavailableException} saying why: no
     * driver or no device, no device N and how many there are, or a compute capability below 6.1.
     */
    static Gpu usable(int ordinal) {
        Discovery d = discover(false);
        if (!d.available()) {
            throw new CudaUnavailableException(d.reason());
        }
        if (ordinal < 0 || ordinal >= d.gpus().size()) {
            throw new CudaUnavailableException("no CUDA device " + ordinal + ": this machine has " + d.gpus().size()
                    + " (cuda:0" + (d.gpus().size() > 1 ? " to cuda:" + (d.gpus().size() - 1) : "") + ")");
        }
        Gpu gpu = d.gpus().get(ordinal);
        if (!gpu.supported()) {
            throw new CudaUnavailableException("cuda:" + ordinal + " (" + gpu.name() + ") has compute capability "
                    + gpu.computeCapability() + "; Kiln needs 6.1 or newer");
        }
        return gpu;
    }

    /** A one-line reason why there is no usable GPU, or null when there is one. */
    public static String unavailableReason() {
        Discovery d = discover(false);
        return d.available() ? null : d.reason();
    }

    static Gpu describe(int ordinal, boolean freeMemory) {
        CUdevice dev = new CUdevice();
        CudaErrors.driver(cuDeviceGet(dev, ordinal), "cuDeviceGet(" + ordinal + ")");
        byte[] name = new byte[256];
        CudaErrors.driver(cuDeviceGetName(name, name.length, dev), "cuDeviceGetName");
        int len = 0;
        while (len < name.length && name[len] != 0) {
            len++;
        }
        long[] total = new long[1];
        CudaErrors.driver(cuDeviceTotalMem(total, dev), "cuDeviceTotalMem");
        int major = attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
        int minor = attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
        int sms = attribute(dev, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        long free = -1;
        if (freeMemory) {
            CUcontext ctx = new CUcontext();
            if (cuDevicePrimaryCtxRetain(ctx, dev) == CUresult.CUDA_SUCCESS) {
                try {
                    CUcontext previous = new CUcontext();
                    jcuda.driver.JCudaDriver.cuCtxGetCurrent(previous);
                    if (cuCtxSetCurrent(ctx) == CUresult.CUDA_SUCCESS) {
                        long[] f = new long[1], t = new long[1];
                        if (cuMemGetInfo(f, t) == CUresult.CUDA_SUCCESS) {
                            free = f[0];
                        }
                        cuCtxSetCurrent(previous);
                    }
                } finally {
                    cuDevicePrimaryCtxRelease(dev);
                }
            }
        }
        return new Gpu(ordinal, new String(name, 0, len, StandardCharsets.UTF_8), total[0], free, major, minor, sms);
    }

    private static int attribute(CUdevice dev, int attribute) {
        int[] v = new int[1];
        CudaErrors.driver(cuDeviceGetAttribute(v, attribute, dev), "cuDeviceGetAttribute(" + attribute + ")");
        return v[0];
    }
}
