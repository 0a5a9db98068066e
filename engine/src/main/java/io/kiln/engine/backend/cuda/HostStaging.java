package io.kiln.engine.backend.cuda;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.JCudaDriver;

/**
 * Copies between Java arrays and device memory through pinned host buffers: two of them, allocated on first
 * use, so an upload can fill one buffer while the copy out of the other is still running. A copy larger than
 * a buffer goes in chunks of {@link #STAGING_BYTES}.
 */
final class HostStaging {
    static final long STAGING_BYTES = 8L << 20;

    private final CudaContext context;
    private final CudaChecks checks;
    private final Pointer[] host = new Pointer[2];
    private final FloatBuffer[] view = new FloatBuffer[2];
    private final CUevent[] done = new CUevent[2];
    private int next;

    HostStaging(CudaContext context, CudaChecks checks) {
        this.context = context;
        this.checks = checks;
    }

    private int buffer() {
        int i = next;
        next ^= 1;
        if (host[i] == null) {
            Pointer p = new Pointer();
            checks.cu(JCudaDriver.cuMemAllocHost(p, STAGING_BYTES), "cuMemAllocHost", CudaStatus.bytes(STAGING_BYTES));
            host[i] = p;
            view[i] = p.getByteBuffer(0, STAGING_BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
            done[i] = new CUevent();
            checks.cu(JCudaDriver.cuEventCreate(done[i], CUevent_flags.CU_EVENT_DISABLE_TIMING), "cuEventCreate", "");
        }
        // the previous copy out of this buffer must have finished before it is overwritten
        checks.cu(JCudaDriver.cuEventSynchronize(done[i]), "cuEventSynchronize", "staging buffer");
        return i;
    }

    /** Queues the copy of src to dst; returns once src has been copied into the pinned buffers. */
    void upload(float[] src, CUdeviceptr dst) {
        int chunk = (int) (STAGING_BYTES / Float.BYTES);
        for (int off = 0; off < src.length; off += chunk) {
            int n = Math.min(chunk, src.length - off);
            int i = buffer();
            view[i].clear();
            view[i].put(src, off, n);
            checks.cu(JCudaDriver.cuMemcpyHtoDAsync(dst.withByteOffset((long) off * Float.BYTES), host[i],
                    (long) n * Float.BYTES, context.stream()), "cuMemcpyHtoDAsync", n + " floats");
            checks.cu(JCudaDriver.cuEventRecord(done[i], context.stream()), "cuEventRecord", "");
        }
    }

    /** Copies src into dst after all queued work; waits for it. */
    void download(CUdeviceptr src, float[] dst) {
        int chunk = (int) (STAGING_BYTES / Float.BYTES);
        if (dst.length == 0) {
            checks.cu(JCudaDriver.cuStreamSynchronize(context.stream()), "cuStreamSynchronize", "download");
            return;
        }
        for (int off = 0; off < dst.length; off += chunk) {
            int n = Math.min(chunk, dst.length - off);
            int i = buffer();
            checks.cu(JCudaDriver.cuMemcpyDtoHAsync(host[i], src.withByteOffset((long) off * Float.BYTES),
                    (long) n * Float.BYTES, context.stream()), "cuMemcpyDtoHAsync", n + " floats");
            checks.cu(JCudaDriver.cuStreamSynchronize(context.stream()), "cuStreamSynchronize", "download");
            view[i].clear();
            view[i].get(dst, off, n);
        }
    }

    /** Frees the pinned buffers (for close). */
    void free() {
        for (int i = 0; i < 2; i++) {
            if (host[i] != null) {
                JCudaDriver.cuMemFreeHost(host[i]);
                JCudaDriver.cuEventDestroy(done[i]);
                host[i] = null;
            }
        }
    }
}
