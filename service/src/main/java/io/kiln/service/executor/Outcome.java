package io.kiln.service.executor;

import io.micronaut.core.annotation.Nullable;

/**
 * How a run ended.
 *
 * @param exitCode the worker's exit status (above 128: killed by signal {@code exitCode - 128})
 * @param done whether the engine reported {@code done}: a run that exits 0 without it did not finish training
 * @param errorMessage the engine's own error message, if it printed one
 * @param lastOutput the last lines the worker wrote to its log, for a failure the engine could not explain
 * @param ending who ended the run: the worker itself (or this server stopping it), or the batch system
 * @param reason the batch system's account of the end in words (a time limit, a cancel outside Kiln, a failed
 *     node), when it ended the run
 */
public record Outcome(int exitCode, boolean done, @Nullable String errorMessage, String lastOutput, Ending ending,
                      @Nullable String reason) {

    /** Who ended a run. */
    public enum Ending {
        /** The worker exited, by itself or because this server stopped it. */
        EXITED,
        /** The batch system stopped it for a reason of its own (time limit, memory limit, deadline). */
        STOPPED_BY_SYSTEM,
        /** Someone cancelled it in the batch system, not through Kiln. */
        CANCELLED_OUTSIDE,
        /** It was lost through no fault of its own (a node failed, it was preempted): it runs again. */
        LOST
    }

    /** A worker that exited. */
    public Outcome(int exitCode, boolean done, @Nullable String errorMessage, String lastOutput) {
        this(exitCode, done, errorMessage, lastOutput, Ending.EXITED, null);
    }

    public boolean succeeded() {
        return ending == Ending.EXITED && exitCode == 0 && done;
    }
}
