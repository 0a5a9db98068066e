package io.kiln.service.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.executor.RunListener;
import io.kiln.service.jobs.JobEvents;
import io.kiln.service.jobs.JobLog;
import io.kiln.service.jobs.JobViews;
import io.kiln.service.store.JobRepository;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.MetricStore;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.util.List;

/**
 * Records one run's output: progress and the latest metrics on the job, metric points and the log in the
 * store, and each change told to the job's live listeners.
 */
final class ProgressRecorder implements RunListener {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The per-epoch figures the job shows as its latest metrics. */
    private static final List<String> EPOCH_FIELDS = List.of("train_loss", "train_acc", "val_loss", "val_acc",
            "samples_per_s", "seconds");

    /** What every recorder writes to. */
    @Singleton
    record Store(JobRepository jobs, MetricStore metrics, JobEvents events, JobLog log) {
        ProgressRecorder recorder(JobRow job) {
            return new ProgressRecorder(this, job);
        }
    }

    private final Store store;
    private final long id;
    private final ObjectNode latest = JSON.createObjectNode();
    private int epoch;
    private int epochs;
    private int step;
    private int steps;

    private ProgressRecorder(Store store, JobRow job) {
        this.store = store;
        this.id = job.id();
        this.epochs = job.epochs();
        JsonNode previous = JobViews.parse(job.latestMetrics());
        if (previous.isObject()) {
            // A resumed run keeps showing the figures of the epochs before it until it has its own.
            latest.setAll((ObjectNode) previous);
        }
    }

    @Override
    public void progress(JsonNode e) {
        String type = e.path("event").asText();
        switch (type) {
            case "start" -> {
                epochs = e.path("epochs").asInt(epochs);
                steps = e.path("steps_per_epoch").asInt();
                // Resumed after the last epoch, a run only evaluates: it is still at the last epoch.
                epoch = Math.min(e.path("start_epoch").asInt(1), Math.max(epochs, 1));
                step = 0;
            }
            case "step" -> {
                epoch = e.path("epoch").asInt();
                step = e.path("step").asInt();
                steps = e.path("steps").asInt(steps);
                copy(e, "loss");
            }
            case "epoch" -> {
                epoch = e.path("epoch").asInt();
                step = steps;
                EPOCH_FIELDS.forEach(f -> copy(e, f));
            }
            case "done" -> {
                copy(e, "test_loss");
                copy(e, "test_acc");
            }
            default -> {
                return;
            }
        }
        store.jobs().updateProgress(id, epoch, epochs, step, steps, latest.toString(), Instant.now());
        ObjectNode data = JSON.createObjectNode();
        data.put("epoch", epoch);
        data.put("epochs", epochs);
        data.put("step", step);
        data.put("steps", steps);
        data.set("metrics", latest.deepCopy());
        store.events().publish(id, type.equals("start") ? "progress" : type, data);
    }

    private void copy(JsonNode e, String field) {
        if (e.path(field).isNumber()) {
            latest.put(field, e.get(field).asDouble());
        }
    }

    @Override
    public void points(List<MetricStore.StepPoint> stepPoints, List<MetricStore.EpochPoint> epochPoints) {
        if (!stepPoints.isEmpty() || !epochPoints.isEmpty()) {
            store.metrics().append(id, stepPoints, epochPoints);
        }
    }

    @Override
    public void checkpoint(int checkpointEpoch) {
        store.jobs().updateCheckpointEpoch(id, checkpointEpoch);
    }

    @Override
    public void log(String text) {
        store.log().append(id, text);
    }
}
