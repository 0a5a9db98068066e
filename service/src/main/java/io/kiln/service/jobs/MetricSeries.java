package io.kiln.service.jobs;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.errors.BadInput;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.MetricStore;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A job's metric series as the API shows them: the per-step loss, optionally averaged down to a number of points a
 * chart can draw, and the per-epoch figures; and the per-epoch figures of several jobs in one table (JSON or CSV).
 */
@Singleton
public class MetricSeries {
    private final MetricStore metrics;

    public MetricSeries(MetricStore metrics) {
        this.metrics = metrics;
    }

    /** The columns of the several-jobs table ({@link #csv}), in order. */
    static final List<String> COLUMNS = List.of("job_id", "job_name", "epoch", "train_loss", "train_acc", "val_loss",
            "val_acc", "samples_per_s", "seconds", "lr");

    /** The most jobs one request of several jobs' metrics names: as many as a page of the job list. */
    public static final int MAX_JOBS = JobService.MAX_PAGE_SIZE;

    /**
     * The job ids of a {@code jobs} parameter such as {@code 1,2,3}, in order, each once.
     *
     * @throws BadInput naming {@code jobs} when it is missing, not ids, or longer than {@link #MAX_JOBS}
     */
    public static List<Long> jobIds(@Nullable String jobs) {
        if (jobs == null || jobs.isBlank()) {
            throw new BadInput("jobs", "give the job ids, comma-separated: ?jobs=1,2,3");
        }
        java.util.LinkedHashSet<Long> ids = new java.util.LinkedHashSet<>();
        for (String part : jobs.split(",", -1)) {
            try {
                long id = Long.parseLong(part.strip());
                if (id < 1) {
                    throw new NumberFormatException();
                }
                ids.add(id);
            } catch (NumberFormatException e) {
                throw new BadInput("jobs", "must be job ids separated by commas, e.g. 1,2,3; \"" + abbreviate(part)
                        + "\" is not one");
            }
            if (ids.size() > MAX_JOBS) {
                throw new BadInput("jobs", "names more than " + MAX_JOBS + " jobs");
            }
        }
        return List.copyOf(ids);
    }

    private static String abbreviate(String s) {
        return s.length() > 40 ? s.substring(0, 37) + "..." : s;
    }

    /** The per-epoch metrics of several jobs: for each, its id, name and epochs as {@link #of} gives them. */
    public ObjectNode several(List<JobRow> jobs) {
        Map<Long, List<MetricStore.EpochPoint>> all = metrics.epochs(jobs.stream().map(JobRow::id).toList());
        ObjectNode n = JobViews.JSON.createObjectNode();
        ArrayNode list = n.putArray("jobs");
        for (JobRow j : jobs) {
            ObjectNode o = list.addObject();
            o.put("jobId", Long.toString(j.id()));
            o.put("name", j.name());
            epochs(o.putArray("epochs"), all.getOrDefault(j.id(), List.of()));
        }
        return n;
    }

    /** The per-epoch metrics of several jobs as one CSV table, a row per job and epoch ({@link #COLUMNS}). */
    public String csv(List<JobRow> jobs) {
        Map<Long, List<MetricStore.EpochPoint>> all = metrics.epochs(jobs.stream().map(JobRow::id).toList());
        Csv csv = new Csv(COLUMNS);
        for (JobRow j : jobs) {
            for (MetricStore.EpochPoint p : all.getOrDefault(j.id(), List.of())) {
                csv.row(java.util.Arrays.asList(j.id(), j.name(), p.epoch(), p.trainLoss(), p.trainAcc(), p.valLoss(),
                        p.valAcc(), p.samplesPerSecond(), p.seconds(), p.lr()));
            }
        }
        return csv.toString();
    }

    public ObjectNode of(long jobId, @Nullable Integer maxPoints) {
        ObjectNode n = JobViews.JSON.createObjectNode();
        n.put("jobId", Long.toString(jobId));
        ArrayNode steps = n.putArray("steps");
        for (MetricStore.StepPoint p : downsample(metrics.steps(jobId), maxPoints)) {
            ObjectNode s = steps.addObject();
            s.put("epoch", p.epoch());
            s.put("step", p.step());
            s.put("globalStep", p.globalStep());
            putNumber(s, "loss", p.loss());
        }
        epochs(n.putArray("epochs"), metrics.epochs(jobId));
        return n;
    }

    private static void epochs(ArrayNode epochs, List<MetricStore.EpochPoint> points) {
        for (MetricStore.EpochPoint p : points) {
            ObjectNode e = epochs.addObject();
            e.put("epoch", p.epoch());
            putNumber(e, "train_loss", p.trainLoss());
            putNumber(e, "train_acc", p.trainAcc());
            putNumber(e, "val_loss", p.valLoss());
            putNumber(e, "val_acc", p.valAcc());
            putNumber(e, "samples_per_s", p.samplesPerSecond());
            putNumber(e, "seconds", p.seconds());
        }
    }

    /**
     * Averages consecutive points into at most {@code max} buckets of (nearly) equal size, each placed at its last
     * step; losses that are not finite are left out of the mean (a bucket of none is NaN).
     */
    static List<MetricStore.StepPoint> downsample(List<MetricStore.StepPoint> points, @Nullable Integer max) {
        if (max == null || max <= 0 || points.size() <= max) {
            return points;
        }
        List<MetricStore.StepPoint> out = new ArrayList<>(max);
        for (int b = 0; b < max; b++) {
            int from = (int) ((long) b * points.size() / max);
            int to = (int) ((long) (b + 1) * points.size() / max);
            double sum = 0;
            int n = 0;
            for (int i = from; i < to; i++) {
                if (Double.isFinite(points.get(i).loss())) {
                    sum += points.get(i).loss();
                    n++;
                }
            }
            MetricStore.StepPoint last = points.get(to - 1);
            out.add(new MetricStore.StepPoint(last.epoch(), last.step(), last.globalStep(), n == 0 ? Double.NaN : sum / n));
        }
        return out;
    }

    private static void putNumber(ObjectNode n, String field, Double v) {
        if (v == null || !Double.isFinite(v)) {
            n.putNull(field);
        } else {
            n.put(field, v);
        }
    }
}
