package io.kiln.service.scheduler;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.cli.ExitCodes;
import io.kiln.service.executor.Outcome;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Each exit of a worker becomes the job's error saying which failure it was, the limit and what to change. The
 * GPU ones cannot happen on a machine without a GPU, so each code is given here as the engine reports it;
 * WorkerExitTest makes the others happen for real.
 */
@Timeout(10)
class WorkerFailureTest {
    static String describe(int code, String message, String tail) {
        return WorkerFailure.describe(new Outcome(code, false, message, tail), "2g", "cuda:1");
    }

    @Test
    void theExitCodesAreTheEnginesAndDistinct() {
        assertEquals(java.util.Set.of(2, 3, 4, 5), java.util.Set.of(ExitCodes.BAD_INPUT, ExitCodes.OUT_OF_MEMORY,
                ExitCodes.DEVICE_FATAL, ExitCodes.DIVERGED));
    }

    @Test
    void aRefusedSpecSaysTheEnginesReason() {
        assertEquals("the engine refused the job: training.epochs: must be between 1 and 10000, got 0",
                describe(ExitCodes.BAD_INPUT, "training.epochs: must be between 1 and 10000, got 0", ""));
    }

    @Test
    void heapExhaustionNamesTheHeapSettingAndSuggestsWhatToChange() {
        String e = describe(ExitCodes.OUT_OF_MEMORY, null, "epoch 1...\nTerminating due to java.lang.OutOfMemoryError: Java heap space");
        assertEquals("out of memory: the worker's Java heap (kiln.worker-heap = 2g) is full (Terminating due to "
                + "java.lang.OutOfMemoryError: Java heap space); raise kiln.worker-heap or lower training.batchSize", e);
    }

    @Test
    void gpuMemoryExhaustionNamesTheGpuAndTheBatchSize() {
        String e = describe(ExitCodes.OUT_OF_MEMORY, "GPU out of memory: cudaMalloc of 2.0 GiB failed, 1.1 GiB free", "");
        assertEquals("out of GPU memory on cuda:1: cudaMalloc of 2.0 GiB failed, 1.1 GiB free; lower training.batchSize "
                + "or use a smaller model", e);
    }

    @Test
    void aFatalGpuErrorNamesTheDevice() {
        String e = describe(ExitCodes.DEVICE_FATAL, "cudnnConvolutionForward: CUDA_ERROR_ILLEGAL_ADDRESS", "");
        assertTrue(e.startsWith("fatal GPU error on cuda:1 (its CUDA context is unusable): cudnnConvolutionForward: "
                + "CUDA_ERROR_ILLEGAL_ADDRESS; submit the job again"), e);
    }

    @Test
    void divergenceSaysTheLossDiverged() {
        assertEquals("the loss diverged: training diverged: the loss became NaN; try a lower optimizer.lr",
                describe(ExitCodes.DIVERGED, "training diverged: the loss became NaN; try a lower optimizer.lr", ""));
    }

    @Test
    void aKilledWorkerSaysBySignalAndTheOthersByCode() {
        assertTrue(describe(137, null, "").startsWith("the worker was killed by signal 9 (SIGKILL: the operating system "
                + "kills a process this way when the machine runs out of memory)"));
        assertEquals("the worker failed (exit code 1): NullPointerException: x", describe(1, "NullPointerException: x", ""));
        assertEquals("the worker failed (exit code 1): its last output:\nat a.b", describe(1, null, "at a.b"));
    }
}
