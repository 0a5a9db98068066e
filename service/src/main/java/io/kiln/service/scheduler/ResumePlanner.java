package io.kiln.service.scheduler;

import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.service.config.KilnPaths;
import io.kiln.service.executor.EngineOutput;
import io.kiln.service.executor.RunListener;
import io.kiln.service.jobs.JobLog;
import io.kiln.service.store.JobRepository;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.MetricStore;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

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
        jobs.updateCheckpointEpoch(id, after);
        return new Plan(resume, after);
    }

    /**
     * Points of epochs up to the checkpoint that the store lacks (the server went down before it read them) are
     * taken from the events file the engine appends every run's events to; of a point reported twice, the later.
     */
    private void recoverPoints(long id, int upToEpoch) throws IOException {
        Path eventsFile = paths.events(id);
        if (!Files.isRegularFile(eventsFile)) {
            return;
        }
        Set<Integer> haveEpochs = new HashSet<>();
        metrics.epochs(id).forEach(p -> haveEpochs.add(p.epoch()));
        Set<Long> haveSteps = new HashSet<>();
        metrics.steps(id).forEach(p -> haveSteps.add(p.globalStep()));
        Map<Long, MetricStore.StepPoint> steps = new TreeMap<>();
        Map<Integer, MetricStore.EpochPoint> epochs = new TreeMap<>();
        EngineOutput reader = new EngineOutput(id, new RunListener() {
            @Override
            public void points(List<MetricStore.StepPoint> s, List<MetricStore.EpochPoint> e) {
                s.stream().filter(p -> p.epoch() <= upToEpoch && !haveSteps.contains(p.globalStep()))
                        .forEach(p -> steps.put(p.globalStep(), p));
                e.stream().filter(p -> p.epoch() <= upToEpoch && !haveEpochs.contains(p.epoch()))
                        .forEach(p -> epochs.put(p.epoch(), p));
            }

            @Override
            public void progress(com.fasterxml.jackson.databind.JsonNode event) {
            }

            @Override
            public void checkpoint(int epoch) {
            }

            @Override
            public void log(String text) {
            }
        });
        try (Stream<String> lines = Files.lines(eventsFile)) {
            // A line cut short by the crash is not JSON: the reader takes it for log text, which is dropped here.
            lines.forEach(reader::line);
        }
        reader.close();
        if (!steps.isEmpty() || !epochs.isEmpty()) {
            metrics.append(id, new ArrayList<>(steps.values()), new ArrayList<>(epochs.values()));
            log.append(id, "kiln: recovered " + epochs.size() + " epoch and " + steps.size() + " step points from "
                    + eventsFile.getFileName() + "\n");
        }
    }
}
