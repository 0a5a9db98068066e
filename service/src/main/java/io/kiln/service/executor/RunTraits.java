package io.kiln.service.executor;

/**
 * What an executor's runs are like, which the scheduler and the submission's checks go by.
 *
 * @param runsOutliveTheService whether runs go on while the service is down (a batch system's do, and are
 *     recovered after the restart); otherwise the service stops them when it stops, and they resume from their
 *     checkpoints when a server runs them again
 * @param stopsAtTimeLimit whether kiln.max-job-duration is handed to the system that runs the jobs (a batch job's
 *     time limit), which then stops a run at it; otherwise the scheduler stops a run that goes past it
 * @param runsOnThisMachine whether runs use this machine's memory (its GPUs, its RAM): then a submission is refused
 *     when its estimate does not fit them ({@code jobs.MemoryCheck}). A batch system's compute nodes differ from the
 *     service's machine: it is given the estimate instead (SLURM's {@code --mem}) and places the job where it fits.
 */
public record RunTraits(boolean runsOutliveTheService, boolean stopsAtTimeLimit, boolean runsOnThisMachine) {
    /** Worker processes of this server ({@code local}): they end with it, and the scheduler times them. */
    public static final RunTraits WORKER_PROCESSES = new RunTraits(false, false, true);
    /** Batch jobs on a cluster's compute nodes ({@code slurm}), under the batch system's own time limit. */
    public static final RunTraits BATCH_JOBS = new RunTraits(true, true, false);
}
