package io.kiln.engine.nn;

import io.kiln.engine.optim.Optimizer;
import io.kiln.engine.spec.JobSpec;
import java.util.Locale;

/**
 * How much memory a job needs to train, estimated from its model's {@link ModelPlan} before anything runs:
 * parameters, their gradients and optimizer state, each layer's output at the training batch size and the input
 * gradients a backward pass holds at once (the layers share them: {@link GradientBuffers}; counted as three of
 * the largest output), plus a margin for library workspaces and the allocator. On a GPU that is device memory
 * (with the CUDA context's share); on the CPU it is the worker's Java heap, which also holds the dataset.
 */
public record MemoryEstimate(long parameters, long parameterBytes, long activationBytes, long totalBytes) {
    /** Headroom for cuDNN workspaces, the CUDA context's own use and allocator rounding. */
    static final double MARGIN = 1.25;
    static final long CONTEXT_BYTES = 400L << 20;
    /** What a worker JVM's heap holds besides the tensors and the data: the engine's own objects and buffers. */
    public static final long WORKER_BASE_BYTES = 64L << 20;

    /**
     * The estimate for a spec trained on samples of {@code sampleShape} with {@code classes} classes.
     *
     * @throws io.kiln.engine.spec.SpecException when the model breaks a rule ({@link ModelPlan})
     */
    public static MemoryEstimate of(JobSpec spec, int[] sampleShape, int classes) {
        return of(ModelPlan.of(spec, sampleShape, classes), new Optimizer(null, spec.optimizer()).stateSlots());
    }

    /** The estimate for a planned model whose optimizer keeps {@code stateSlots} tensors per parameter. */
    public static MemoryEstimate of(ModelPlan plan, int stateSlots) {
        long batch = plan.batch();
        long params = plan.parameters();
        long paramBytes = params * 4L * (2 + stateSlots);
        long activations = batch * ModelPlan.elements(plan.inputShape());
        long largest = 0;
        for (ModelPlan.Leaf l : plan.leaves()) {
            long out = batch * ModelPlan.elements(l.outputShape());
            activations += out;
            largest = Math.max(largest, out);
        }
        // a chain needs two gradients of a shape at a time, a residual block three
        activations += 3 * largest;
        long activationBytes = activations * 4L;
        long total = (long) ((paramBytes + activationBytes) * MARGIN) + CONTEXT_BYTES;
        return new MemoryEstimate(params, paramBytes, activationBytes, total);
    }

    /**
     * The Java heap a CPU worker needs: the tensors with the same margin, the dataset's {@code dataBytes} (its
     * samples as stored) and the engine's own share, but no CUDA context.
     */
    public long cpuHeapBytes(long dataBytes) {
        return (long) ((parameterBytes + activationBytes) * MARGIN) + dataBytes + WORKER_BASE_BYTES;
    }

    /** e.g. "3.2 GiB (9,228,362 parameters: 0.1 GiB with gradients and optimizer state; activations 2.9 GiB)". */
    public String describe() {
        return describe(totalBytes);
    }

    /** The same breakdown with another total (the CPU's). */
    public String describe(long total) {
        return String.format(Locale.ROOT, "%s (%,d parameters: %s with gradients and optimizer state; activations %s)",
                gib(total), parameters, gib(parameterBytes), gib(activationBytes));
    }

    public static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }
}
