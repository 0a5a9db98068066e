package io.kiln.service.jobs;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.store.MetricStore;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;

/**
 * A job's metric series as the API shows them: the per-step loss, optionally averaged down to a number of points a
 * chart can draw, and the per-epoch figures.
 */
@Singleton
public class MetricSeries {
    private final MetricStore metrics;

    public MetricSeries(MetricStore metrics) {
        this.metrics = metrics;
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
        ArrayNode epochs = n.putArray("epochs");
        for (MetricStore.EpochPoint p : metrics.epochs(jobId)) {
            ObjectNode e = epochs.addObject();
            e.put("epoch", p.epoch());
            putNumber(e, "train_loss", p.trainLoss());
            putNumber(e, "train_acc", p.trainAcc());
            putNumber(e, "val_loss", p.valLoss());
            putNumber(e, "val_acc", p.valAcc());
            putNumber(e, "samples_per_s", p.samplesPerSecond());
            putNumber(e, "seconds", p.seconds());
        }
        return n;
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
