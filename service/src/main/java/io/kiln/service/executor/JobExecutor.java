package io.kiln.service.executor;

import io.kiln.service.store.JobRow;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Where and how a job runs, chosen by {@code kiln.executor}. The scheduler decides which queued job goes next and
 * claims it in the store; an executor runs what it is given and reports back: it starts a run, follows it to its
 * end (its progress going to a {@link RunListener} as it comes), stops it when asked, and after a restart
 * recovers what an earlier server process left running.
 *
 * <p>{@code local} ({@link io.kiln.service.executor.local.LocalExecutor}) runs each job as a worker process on
 * one of this server's slots. A batch-system executor (SLURM) would turn a run into a batch job: its vacancies
 * are what the batch system still accepts, it follows the job's events file on the shared KILN_HOME, and it keeps
 * its runs across a restart of the service.
 */
public interface JobExecutor {
    /** Where a claimed job could start now, in the order to fill them; empty when nothing can start. */
    List<Placement> vacancies();

    /**
     * Looks for a run of this job that an earlier start left behind (a server killed outright, a job taken over
     * from a silent server), so that a job never has two runs. Called at start-up for each job the store says
     * this server runs, and before every start. A run that can go on (a batch job) is taken back, its events going
     * to {@code listener} from now on, and returned; one that cannot (a worker orphaned by its server) is stopped
     * before anything reads the job's folder, and the answer is empty.
     */
    Optional<Run> recover(JobRow job, RunListener listener);

    /** Starts a run of a claimed job at one of the {@link #vacancies()}; its events go to {@code listener}. */
    Run start(Launch launch, RunListener listener) throws IOException;

    /** Completes once the run has ended and all it reported has reached the listener, with how it ended. */
    CompletableFuture<Outcome> follow(Run run);

    /**
     * Asks a run to stop (cancel, time limit, shutdown): gracefully, then forcibly after kiln.cancel-grace. Returns
     * at once; {@link #follow} completes when the run has stopped.
     */
    void stop(Run run, String why);

    /**
     * Whether runs go on while the service is down (a batch system's do, and are recovered after the restart);
     * otherwise the service stops them when it stops, and they resume from their checkpoints when a server runs
     * them again.
     */
    boolean runsOutliveTheService();
}
