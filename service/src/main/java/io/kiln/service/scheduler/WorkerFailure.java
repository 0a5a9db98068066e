package io.kiln.service.scheduler;

import io.kiln.engine.cli.ExitCodes;
import io.kiln.service.executor.Outcome;

/**
 * Why a worker failed, in words its owner can act on: which failure the engine's exit code says it was (a refused
 * spec or dataset, out of memory in the Java heap or on the GPU, a fatal GPU error, a diverged loss), with the
 * limit that was reached and what to change.
 */
final class WorkerFailure {
    /** How the JVM says it ran out of heap under -XX:+ExitOnOutOfMemoryError (on standard output). */
    private static final String JVM_OUT_OF_MEMORY = "java.lang.OutOfMemoryError";
    /** How the engine's own message starts for device memory. */
    private static final String GPU_OUT_OF_MEMORY = "GPU out of memory";

    private WorkerFailure() {
    }

    /**
     * @param workerHeap the kiln.worker-heap the worker ran with
     * @param placement where it ran (cpu, cuda:0)
     */
    static String describe(Outcome o, String workerHeap, String placement) {
        String message = o.errorMessage();
        String tail = o.lastOutput();
        int code = o.exitCode();
        return switch (code) {
            case ExitCodes.BAD_INPUT -> "the engine refused the job: " + orTail(message, tail);
            case ExitCodes.OUT_OF_MEMORY -> message != null && message.startsWith(GPU_OUT_OF_MEMORY)
                    ? "out of GPU memory on " + placement + ": " + message.substring(GPU_OUT_OF_MEMORY.length())
                            .replaceFirst("^[:\\s]+", "") + "; lower training.batchSize or use a smaller model"
                    : "out of memory: the worker's Java heap (kiln.worker-heap = " + workerHeap + ") is full"
                            + heapDetail(message, tail) + "; raise kiln.worker-heap or lower training.batchSize";
            case ExitCodes.DEVICE_FATAL -> "fatal GPU error on " + placement + " (its CUDA context is unusable): "
                    + orTail(message, tail) + "; submit the job again, and tell an admin if " + placement + " keeps failing";
            case ExitCodes.DIVERGED -> "the loss diverged: " + orTail(message, tail);
            default -> {
                if (code > 128) {
                    int signal = code - 128;
                    yield "the worker was killed by signal " + signal + (signal == 9 ? " (SIGKILL: the operating system "
                            + "kills a process this way when the machine runs out of memory)" : "")
                            + (tail.isBlank() ? "" : "; its last output:\n" + tail);
                }
                yield "the worker failed (exit code " + code + "): " + orTail(message, tail);
            }
        };
    }

    private static String heapDetail(String message, String tail) {
        if (message != null) {
            return " (" + message + ")";
        }
        return tail.lines().filter(l -> l.contains(JVM_OUT_OF_MEMORY)).findFirst()
                .map(l -> " (" + l.trim() + ")").orElse("");
    }

    private static String orTail(String message, String tail) {
        if (message != null) {
            return message;
        }
        return tail.isBlank() ? "it gave no reason" : "its last output:\n" + tail;
    }
}
