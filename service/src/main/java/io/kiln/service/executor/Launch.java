package io.kiln.service.executor;

import io.kiln.service.store.JobRow;
import io.micronaut.core.annotation.Nullable;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One run of a claimed job as the scheduler planned it: where, and the engine's {@code train} for it. Every
 * executor runs the same engine command; what differs is how it is started and on which device.
 *
 * @param job the job as claimed (its attempt number counts this run)
 * @param placement one of the executor's vacancies
 * @param jobDir the job's folder: the engine writes its checkpoint and events file there
 * @param specFile the spec to train
 * @param dataRoot the datasets
 * @param resume whether the run continues after the checkpoint in {@code jobDir}
 * @param resumeAfter the checkpoint's epoch when resuming, else 0
 * @param initCheckpoint the weights a fine-tuning job starts from, if any
 */
public record Launch(JobRow job, Placement placement, Path jobDir, Path specFile, Path dataRoot, boolean resume,
                     int resumeAfter, @Nullable Path initCheckpoint) {

    /** The engine's arguments ({@code train ...}) with the device the executor gives the worker. */
    public List<String> trainArguments(String device) {
        List<String> args = new ArrayList<>(List.of("train", "--spec", specFile.toString(), "--data-root",
                dataRoot.toString(), "--device", device, "--out", jobDir.toString()));
        if (resume) {
            args.add("--resume");
        }
        if (initCheckpoint != null) {
            args.add("--init-checkpoint");
            args.add(initCheckpoint.toString());
        }
        return args;
    }
}
