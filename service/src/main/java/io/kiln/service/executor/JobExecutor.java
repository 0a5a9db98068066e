package io.kiln.service.executor;

import com.fasterxml.jackson.databind.node.ArrayNode;
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
 * one of this server's slots. {@code slurm} ({@link io.kiln.service.executor.slurm.SlurmExecutor}) turns each run
 * into a SLURM batch job: its vacancies are what it may still submit, it follows the run's output files on the
 * shared KILN_HOME and SLURM's state of the batch job, and its runs go on across a restart of the service.
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

    /** What this executor's runs are like: whether they outlive the service, keep a time limit, use this machine. */
    RunTraits traits();

    /**
     * Why a job asking for this device ({@code auto}, {@code cpu}, {@code cuda}, {@code cuda:N}) could never run
     * here, in words for the submitter; empty when it can.
     */
    Optional<String> refusal(String requestedDevice);

    /** {@code GET /devices}: where jobs run (this server's GPUs and CPU, or the batch partition's nodes). */
    ArrayNode devices();
}
