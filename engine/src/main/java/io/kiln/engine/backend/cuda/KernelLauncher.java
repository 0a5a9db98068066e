package io.kiln.engine.backend.cuda;

import java.util.HashMap;
import java.util.Map;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.JCudaDriver;

/**
 * Launches Kiln's own kernels ({@code cuda-kernels/src/main/cuda/kernels.cu}) on the backend's stream:
 * 1-D grids of {@link #BLOCK} threads. The kernels loop grid-stride, so however large the work a grid is
 * capped at 32 blocks per multiprocessor, at least four times what one holds at once (2048 threads or
 * fewer): the device stays full without launching millions of blocks. Kernels that reduce choose their grid
 * ({@link #launchGrid}, {@link BiasReduction}, {@link LossReduction}). Arguments are passed by type: a tensor
 * as its device pointer, a CUdeviceptr (scratch memory) as itself, null as a null pointer, Integer, Float and
 * Long as themselves, Boolean as an int 0 or 1.
 */
final class KernelLauncher {
    static final int BLOCK = 256;

    private final CudaContext context;
    private final CudaChecks checks;
    private final int maxBlocks;
    private final Map<String, CUfunction> functions = new HashMap<>();

    KernelLauncher(CudaContext context, CudaChecks checks, CudaDevices.Gpu gpu) {
        this.context = context;
        this.checks = checks;
        this.maxBlocks = Math.max(64, gpu.multiprocessors() * 32);
    }

    /** How many blocks a reduction aims for: four per multiprocessor, enough to fill it at 256 threads. */
    int reductionBlocks() {
        return maxBlocks / 8;
    }

    private CUfunction function(String name) {
        CUfunction f = functions.get(name);
        if (f == null) {
            f = new CUfunction();
            checks.cu(JCudaDriver.cuModuleGetFunction(f, context.module(), name), "cuModuleGetFunction", name);
            functions.put(name, f);
        }
        return f;
    }

    /** Launches a grid-stride kernel over {@code work} items (nothing when there are none). */
    void launch(String kernel, long work, Object... args) {
        if (work <= 0) {
            return;
        }
        int blocks = (int) Math.min((work + BLOCK - 1) / BLOCK, maxBlocks);
        launchGrid(kernel, blocks, args);
    }

    /** Launches a kernel on exactly {@code blocks} blocks. */
    void launchGrid(String kernel, int blocks, Object... args) {
        launchGrid2d(kernel, blocks, 1, args);
    }

    /** Launches a kernel on a grid of {@code blocksX} by {@code blocksY} blocks. */
    void launchGrid2d(String kernel, int blocksX, int blocksY, Object... args) {
        NativePointerObject[] params = new NativePointerObject[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            if (a == null) {
                params[i] = Pointer.to(new CUdeviceptr());
            } else if (a instanceof CudaTensor t) {
                params[i] = Pointer.to(t.pointer());
            } else if (a instanceof CUdeviceptr p) {
                params[i] = Pointer.to(p);
            } else if (a instanceof Integer v) {
                params[i] = Pointer.to(new int[] {v});
            } else if (a instanceof Float v) {
                params[i] = Pointer.to(new float[] {v});
            } else if (a instanceof Long v) {
                params[i] = Pointer.to(new long[] {v});
            } else if (a instanceof Boolean v) {
                params[i] = Pointer.to(new int[] {v ? 1 : 0});
            } else {
                throw new IllegalArgumentException("kernel argument " + a);
            }
        }
        checks.cu(JCudaDriver.cuLaunchKernel(function(kernel), blocksX, blocksY, 1, BLOCK, 1, 1, 0, context.stream(),
                Pointer.to(params), null), "cuLaunchKernel " + kernel, blocksX + "x" + blocksY + " blocks of " + BLOCK);
    }
}
