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
 * @param initCheckpoint the checkpoint a job fine-tuned from another job starts from ({@code init.fromJob}), if any
 * @param initWeights the pretrained weights a job fine-tuned from an uploaded model starts from ({@code init.model}),
 *     if any
 */
public record Launch(JobRow job, Placement placement, Path jobDir, Path specFile, Path dataRoot, boolean resume,
                     int resumeAfter, @Nullable Path initCheckpoint, @Nullable Path initWeights) {

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
        if (initWeights != null) {
            args.add("--init-weights");
            args.add(initWeights.toString());
        }
        return args;
    }
}
