package io.kiln.service.scheduler;

import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.service.config.KilnPaths;
import io.kiln.service.jobs.JobLog;
import io.kiln.service.store.JobRepository;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.MetricStore;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a job's next run starts. A job that ran before and has a checkpoint resumes after the checkpoint's
 * epoch; the store is brought to match: points of later epochs are forgotten (the resumed run reports them
 * again), points up to it that the store lacks are taken from the job's events file. A job without a checkpoint
 * starts over, with none of its earlier points.
 */
@Singleton
class ResumePlanner {
    /** Where the run starts: after epoch {@code after} (0: from the beginning). */
    record Plan(boolean resume, int after) {
    }

    private final KilnPaths paths;
    private final MetricStore metrics;
    private final JobRepository jobs;
    private final JobLog log;

    ResumePlanner(KilnPaths paths, MetricStore metrics, JobRepository jobs, JobLog log) {
        this.paths = paths;
        this.metrics = metrics;
        this.jobs = jobs;
        this.log = log;
    }

    /** Plans the run and brings the store to match. Call it only once no earlier run writes to the job's folder. */
    Plan prepare(JobRow job) throws IOException {
        long id = job.id();
        Path checkpoint = paths.checkpoint(id);
        boolean resume = job.attempts() > 1 && Files.exists(checkpoint);
        // The file on disk, not the store, says where the run resumes (a crash can come between the two).
        int after = resume ? Checkpoint.readEpoch(checkpoint) : 0;
        metrics.deleteAfter(id, after);
        if (resume) {
            recoverPoints(id, after);
        }
        jobs.updateResumePoint(id, after);
        return new Plan(resume, after);
    }

    /**
     * Points of epochs up to the checkpoint that the store lacks (the server went down before it read them) are
     * taken from the events file the engine appends every run's events to ({@link EventsReplay}).
     */
    private void recoverPoints(long id, int upToEpoch) throws IOException {
        Path eventsFile = paths.events(id);
        EventsReplay.Points missing = EventsReplay.missing(eventsFile, upToEpoch, metrics, id);
        if (!missing.isEmpty()) {
            metrics.append(id, missing.steps(), missing.epochs());
            log.append(id, "kiln: recovered " + missing.epochs().size() + " epoch and " + missing.steps().size()
                    + " step points from " + eventsFile.getFileName() + "\n");
        }
    }
}
