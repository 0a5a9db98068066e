package io.kiln.service.executor;

import io.micronaut.core.annotation.Nullable;

/**
 * How a run ended.
 *
 * @param exitCode the worker's exit status (above 128: killed by signal {@code exitCode - 128})
 * @param done whether the engine reported {@code done}: a run that exits 0 without it did not finish training
 * @param errorMessage the engine's own error message, if it printed one
 * @param lastOutput the last lines the worker wrote to its log, for a failure the engine could not explain
 */
public record Outcome(int exitCode, boolean done, @Nullable String errorMessage, String lastOutput) {
    public boolean succeeded() {
        return exitCode == 0 && done;
    }
}
