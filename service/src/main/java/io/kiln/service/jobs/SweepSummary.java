package io.kiln.service.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.JobState;
import io.kiln.service.store.MetricStore;
import io.kiln.service.store.SweepRow;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The summary table of a sweep, as JSON and as CSV: each point's values, job, state, best validation accuracy and
 * its epoch, test accuracy and time; the best point (the highest validation accuracy, else test accuracy); and,
 * with retraining, the job that retrained the best point on training + validation data and its test accuracy.
 * Pure: it is given the sweep, its jobs and their per-epoch metrics.
 */
final class SweepSummary {
    private static final Pattern INDEX = Pattern.compile("\\[(\\d+)]");

    private SweepSummary() {
    }

    /**
     * @param jobs   the sweep's jobs, in id order: its points and, once started, the retraining job
     * @param epochs each job's per-epoch metrics
     */
    static ObjectNode of(SweepRow sweep, List<JobRow> jobs, Map<Long, List<MetricStore.EpochPoint>> epochs) {
        JsonNode grid = JobViews.parse(sweep.body()).path("grid");
        ObjectNode n = JobViews.JSON.createObjectNode();
        n.put("id", Long.toString(sweep.id()));
        n.put("name", sweep.name());
        n.put("user", sweep.userName());
        n.put("submittedAt", sweep.submittedAt().toString());
        ArrayNode parameters = n.putArray("parameters");
        grid.fieldNames().forEachRemaining(parameters::add);
        n.set("grid", grid.deepCopy());
        ArrayNode list = n.putArray("points");
        ObjectNode best = null;
        double bestScore = Double.NEGATIVE_INFINITY;
        JobRow retrainJob = null;
        List<JobState> states = new ArrayList<>();
        for (JobRow j : jobs) {
            if (sweep.retrainJobId() != null && sweep.retrainJobId().equals(j.id())) {
                retrainJob = j;
                continue;
            }
            ObjectNode p = list.addObject();
            p.set("values", valuesOf(grid, JobViews.parse(j.spec())));
            p.put("jobId", Long.toString(j.id()));
            p.put("state", j.shownState());
            p.put("epochs", j.epochs());
            double bestVal = Double.NaN;
            int bestEpoch = 0;
            double seconds = 0;
            for (MetricStore.EpochPoint e : epochs.getOrDefault(j.id(), List.of())) {
                if (e.valAcc() != null && !(e.valAcc() <= bestVal)) {
                    bestVal = e.valAcc();
                    bestEpoch = e.epoch();
                }
                seconds += e.seconds() == null ? 0 : e.seconds();
            }
            double testAcc = JobViews.parse(j.latestMetrics()).path("test_acc").asDouble(Double.NaN);
            number(p, "bestValAcc", bestVal);
            if (bestEpoch > 0) {
                p.put("bestEpoch", bestEpoch);
            } else {
                p.putNull("bestEpoch");
            }
            number(p, "testAcc", testAcc);
            number(p, "seconds", seconds);
            double score = Double.isNaN(bestVal) ? testAcc : bestVal;
            if (!Double.isNaN(score) && score > bestScore) {
                bestScore = score;
                best = p;
            }
            states.add(JobState.valueOf(j.shownState()));
        }
        n.put("pointCount", list.size());
        n.set("best", best == null ? JobViews.JSON.nullNode() : best.deepCopy());
        n.put("retrain", sweep.retrain());
        n.set("retrained", retrainJob == null ? JobViews.JSON.nullNode()
                : retrained(retrainJob, best, epochs.getOrDefault(retrainJob.id(), List.of())));
        n.put("retrainNote", sweep.retrainNote());
        n.put("state", state(states, sweep, retrainJob));
        return n;
    }

    /** The retraining job: its id, state, the values it was given, the epochs it trains and its test accuracy. */
    private static ObjectNode retrained(JobRow j, ObjectNode best, List<MetricStore.EpochPoint> epochs) {
        ObjectNode r = JobViews.JSON.createObjectNode();
        r.put("jobId", Long.toString(j.id()));
        r.put("state", j.shownState());
        r.set("values", best == null ? JobViews.JSON.createObjectNode() : best.get("values").deepCopy());
        r.put("epochs", j.epochs());
        number(r, "testAcc", JobViews.parse(j.latestMetrics()).path("test_acc").asDouble(Double.NaN));
        number(r, "seconds", epochs.stream().mapToDouble(e -> e.seconds() == null ? 0 : e.seconds()).sum());
        return r;
    }

    /**
     * RUNNING while any job of the sweep is queued or running, or its retraining is about to start (every point
     * has ended, none started it yet and nothing said why not); QUEUED while no point has started; then FAILED if
     * any job failed, else CANCELLED if any was cancelled, else SUCCEEDED.
     */
    private static String state(List<JobState> points, SweepRow sweep, JobRow retrainJob) {
        List<JobState> all = new ArrayList<>(points);
        if (retrainJob != null) {
            all.add(JobState.valueOf(retrainJob.shownState()));
        }
        long queued = all.stream().filter(s -> s == JobState.QUEUED).count();
        boolean running = all.contains(JobState.RUNNING);
        if (running || (queued > 0 && queued < all.size())) {
            return "RUNNING";
        }
        if (queued > 0) {
            return "QUEUED";
        }
        if (sweep.retrain() && retrainJob == null && sweep.retrainNote() == null) {
            return "RUNNING";
        }
        return all.contains(JobState.FAILED) ? "FAILED" : all.contains(JobState.CANCELLED) ? "CANCELLED" : "SUCCEEDED";
    }

    /**
     * The summary as CSV: a column per swept parameter, then the results, one row per point ({@code role}
     * {@code point}, or {@code best} for the best one) and one for the retraining job ({@code retrained}).
     */
    static String csv(ObjectNode summary) {
        List<String> header = new ArrayList<>();
        summary.get("parameters").forEach(p -> header.add(p.asText()));
        header.addAll(List.of("best_val_acc", "best_epoch", "test_acc", "seconds", "epochs", "state", "job_id", "role"));
        Csv csv = new Csv(header);
        String bestJob = summary.path("best").path("jobId").asText("");
        for (JsonNode p : summary.get("points")) {
            List<Object> row = values(summary, p.get("values"));
            row.addAll(List.of(p.get("bestValAcc"), p.get("bestEpoch"), p.get("testAcc"), p.get("seconds"),
                    p.get("epochs"), p.get("state").asText(), p.get("jobId").asText(),
                    p.get("jobId").asText().equals(bestJob) ? "best" : "point"));
            csv.row(row);
        }
        JsonNode r = summary.get("retrained");
        if (r.isObject()) {
            List<Object> row = values(summary, r.get("values"));
            row.addAll(java.util.Arrays.asList(null, null, r.get("testAcc"), r.get("seconds"), r.get("epochs"),
                    r.get("state").asText(), r.get("jobId").asText(), "retrained"));
            csv.row(row);
        }
        return csv.toString();
    }

    /** A row's first cells: the point's value of each swept parameter, in the grid's order. */
    private static List<Object> values(ObjectNode summary, JsonNode values) {
        List<Object> row = new ArrayList<>();
        summary.get("parameters").forEach(p -> row.add(values.get(p.asText())));
        return row;
    }

    /** The grid values of one point, read back from its spec. */
    static ObjectNode valuesOf(JsonNode grid, JsonNode spec) {
        ObjectNode values = JobViews.JSON.createObjectNode();
        grid.fieldNames().forEachRemaining(path -> values.set(path, at(spec, path)));
        return values;
    }

    /** The value at a grid path such as {@code model.layers[1].units} (a missing node when there is none). */
    static JsonNode at(JsonNode spec, String path) {
        JsonNode v = spec;
        for (String part : path.split("\\.")) {
            int bracket = part.indexOf('[');
            v = v.path(bracket < 0 ? part : part.substring(0, bracket));
            for (Matcher m = INDEX.matcher(part); m.find(); ) {
                v = v.path(Integer.parseInt(m.group(1)));
            }
        }
        return v;
    }

    private static void number(ObjectNode n, String field, double v) {
        if (Double.isFinite(v)) {
            n.put(field, v);
        } else {
            n.putNull(field);
        }
    }
}
