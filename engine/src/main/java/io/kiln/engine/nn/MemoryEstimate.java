package io.kiln.engine.nn;

import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.optim.Optimizer;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.tensor.Tensor;
import java.util.Locale;

/**
 * How much device memory a job needs to train, estimated from its model before it runs: parameters, their
 * gradients and optimizer state, and for each layer its output and input gradient at the training batch size,
 * plus a margin for library workspaces and the allocator. A GPU scheduler uses it to refuse a job that cannot fit.
 */
public record MemoryEstimate(long parameters, long parameterBytes, long activationBytes, long totalBytes) {
    /** Headroom for cuDNN workspaces, the CUDA context's own use and allocator rounding. */
    static final double MARGIN = 1.25;
    static final long CONTEXT_BYTES = 400L << 20;

    /** The estimate for a spec trained on samples of {@code sampleShape} with {@code classes} classes. */
    public static MemoryEstimate of(JobSpec spec, int[] sampleShape, int classes) {
        // Built on the CPU for its shapes only; the weights are small next to what training needs.
        try (CpuBackend cpu = new CpuBackend(1); Model model = Model.build(cpu, spec, sampleShape, classes)) {
            int batch = spec.training().batchSize();
            long params = model.parameterCount();
            int slots = new Optimizer(cpu, spec.optimizer()).stateSlots();
            long paramBytes = params * 4L * (2 + slots);
            long activations = (long) batch * Tensor.sizeOf(sampleShape);
            for (Layer l : model.root().allLayers()) {
                if (!(l instanceof Sequential) && !(l instanceof Residual)) {
                    activations += 2L * batch * Tensor.sizeOf(l.outputShape());
                }
            }
            long activationBytes = activations * 4L;
            long total = (long) ((paramBytes + activationBytes) * MARGIN) + CONTEXT_BYTES;
            return new MemoryEstimate(params, paramBytes, activationBytes, total);
        }
    }

    /** e.g. "3.2 GiB (9,228,362 parameters: 0.1 GiB with gradients and optimizer state; activations 2.9 GiB)". */
    public String describe() {
        return String.format(Locale.ROOT, "%s (%,d parameters: %s with gradients and optimizer state; activations %s)",
                gib(totalBytes), parameters, gib(parameterBytes), gib(activationBytes));
    }

    public static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.1f GiB", bytes / (double) (1L << 30));
    }
}
