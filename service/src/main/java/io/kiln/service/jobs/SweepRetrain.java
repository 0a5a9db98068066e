package io.kiln.service.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.spec.SpecException;
import io.kiln.service.auth.Caller;
import io.kiln.service.errors.ServiceException;
import io.kiln.service.store.JobRepository;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.JobState;
import io.kiln.service.store.MetricStore;
import io.kiln.service.store.SweepRepository;
import io.kiln.service.store.SweepRow;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.util.List;

/**
 * The last step of a sweep with {@code "retrain": true}: once every point has ended, one more job trains the best
 * point's spec (the highest validation accuracy) on the whole training set, its validation part included
 * ({@code data.validationSplit} 0), for the epoch count at which that point's validation accuracy was best, and
 * reports its test accuracy. The job belongs to the sweep's user and to the sweep ({@code sweepId}); the
 * summary shows it as {@code retrained}. When no point has a validation accuracy, or the spec no longer passes,
 * the sweep's {@code retrainNote} says so instead.
 */
@Singleton
public class SweepRetrain {
    /** Added to the best point's name for the retraining job's. */
    static final String SUFFIX = " (retrained)";
    private final SweepRepository sweeps;
    private final JobRepository jobs;
    private final JobService jobService;
    private final MetricStore metrics;
    private final JobLog log;

    public SweepRetrain(SweepRepository sweeps, JobRepository jobs, JobService jobService, MetricStore metrics, JobLog log) {
        this.sweeps = sweeps;
        this.jobs = jobs;
        this.jobService = jobService;
        this.metrics = metrics;
        this.log = log;
    }

    /** Sweeps waiting to retrain: they asked to, and have neither the job nor a reason for none. */
    public List<Long> pending() {
        return sweeps.findRetrainsPending().stream().map(SweepRow::id).toList();
    }

    /**
     * Starts the sweep's retraining if every point has ended and nothing started it yet. Of several servers
     * doing so at once, one does: the job and the sweep's note of it are one transaction, conditional on the
     * sweep having no retraining job yet.
     *
     * @return the retraining job's id, or null when none was started now
     */
    @Transactional
    public Long startIfReady(long sweepId) {
        SweepRow sweep = sweeps.findById(sweepId).orElse(null);
        if (sweep == null || !sweep.retrain() || sweep.retrainJobId() != null || sweep.retrainNote() != null) {
            return null;
        }
        List<JobRow> points = jobs.findBySweepIdOrderById(sweepId);
        if (points.isEmpty() || points.stream().anyMatch(j -> !JobState.valueOf(j.state()).finished())) {
            return null;
        }
        ObjectNode summary = SweepSummary.of(sweep, points, metrics.epochs(points.stream().map(JobRow::id).toList()));
        JsonNode best = summary.get("best");
        if (!best.isObject() || !best.get("bestEpoch").isNumber()) {
            sweeps.skipRetrain(sweepId, "not retrained: no point has a validation accuracy to choose the best by");
            return null;
        }
        long bestJob = Long.parseLong(best.get("jobId").asText());
        JobRow source = points.stream().filter(j -> j.id() == bestJob).findFirst().orElseThrow();
        int epochs = best.get("bestEpoch").asInt();
        JobRow job;
        try {
            job = jobService.submitFollowUp(new Caller(sweep.userName(), false, null), spec(source, epochs), sweepId);
        } catch (SpecException | ServiceException e) {
            sweeps.skipRetrain(sweepId, "not retrained: the best point's spec is refused now: " + e.getMessage());
            return null;
        }
        if (sweeps.startRetrain(sweepId, job.id()) != 1) {
            throw new AlreadyStarted(sweepId);
        }
        log.append(job.id(), "kiln: retrains the best point of sweep " + sweepId + " (job " + bestJob + ", "
                + best.get("values") + ") on its training and validation data for " + epochs + " epoch"
                + (epochs == 1 ? "" : "s") + ", the epoch of its best validation accuracy\n");
        return job.id();
    }

    /** The best point's spec, trained on all its training data for {@code epochs} epochs. */
    static String spec(JobRow source, int epochs) {
        ObjectNode spec = (ObjectNode) JobViews.parse(source.spec()).deepCopy();
        ((ObjectNode) spec.path("data")).put("validationSplit", 0.0);
        JsonNode training = spec.path("training");
        (training.isObject() ? (ObjectNode) training : spec.putObject("training")).put("epochs", epochs);
        String name = spec.path("name").asText("job");
        spec.put("name", name.substring(0, Math.min(name.length(), 200 - SUFFIX.length())) + SUFFIX);
        return spec.toString();
    }

    /** Another server started the retraining first: this transaction is rolled back, its job with it. */
    static final class AlreadyStarted extends RuntimeException {
        AlreadyStarted(long sweepId) {
            super("sweep " + sweepId + ": another server started its retraining");
        }
    }
}
