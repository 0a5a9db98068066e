package io.kiln.engine.backend.cuda;

import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

/** Turns status codes into {@link CudaException}s with the library's error text. */
final class CudaErrors {
    private CudaErrors() {
    }

    /** CUDA_ERROR_NAME: description, from the driver (or JCuda's table when the driver cannot say). */
    static String driverText(int status) {
        String name = CUresult.stringFor(status);
        String[] text = new String[1];
        try {
            if (JCudaDriver.cuGetErrorString(status, text) != CUresult.CUDA_SUCCESS) {
                text[0] = null;
            }
        } catch (Throwable t) {
            text[0] = null;
        }
        return text[0] == null ? name : name + ": " + text[0];
    }

    static void driver(int status, String what) {
        if (status != CUresult.CUDA_SUCCESS) {
            throw driverException(status, what);
        }
    }

    static CudaException driverException(int status, String what) {
        boolean fatal = CudaStatus.fatalDriver(status);
        return new CudaException(what + " failed: " + driverText(status) + (fatal
                ? " (the CUDA context is unusable after this error; the process must restart to use the GPU again)"
                : ""), "cuda", status, fatal);
    }
}
