package io.kiln.service.executor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kiln.service.store.MetricStore;
import io.micronaut.core.annotation.Nullable;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the engine's JSON lines (its stdout, or the events file it appends to) into calls on a
 * {@link RunListener}, holding step points back to hand them over in batches: one store write per 200 points or
 * per second, not one per step. Output that may repeat what the store has (a batch job's, read again) is read
 * with the {@link KnownPoints}, and a point it knows is passed over with its progress event.
 */
public final class EngineOutput {
    private static final Logger LOG = LoggerFactory.getLogger(EngineOutput.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final int FLUSH_POINTS = 200;
    static final long FLUSH_NANOS = 1_000_000_000L;

    private final long jobId;
    private final RunListener listener;
    /** The points not to hand on again; null where the output cannot repeat them (a worker's own stdout). */
    @Nullable
    private final KnownPoints known;
    private List<MetricStore.StepPoint> steps = new ArrayList<>();
    private long lastFlush = System.nanoTime();
    private int stepsPerEpoch;
    private volatile boolean done;
    private volatile String errorMessage;

    public EngineOutput(long jobId, RunListener listener) {
        this(jobId, listener, null);
    }

    public EngineOutput(long jobId, RunListener listener, @Nullable KnownPoints known) {
        this.jobId = jobId;
        this.listener = listener;
        this.known = known;
    }

    /** Whether the engine reported {@code done}. */
    public boolean done() {
        return done;
    }

    /** The engine's error message, if it printed one. */
    public String errorMessage() {
        return errorMessage;
    }

    /** One line of output. A line that is not an event is log text. */
    public void line(String line) {
        JsonNode e;
        try {
            e = JSON.readTree(line);
        } catch (IOException notJson) {
            e = null;
        }
        try {
            if (e == null || !e.has("event")) {
                listener.log(line + "\n");
                return;
            }
            switch (e.get("event").asText()) {
                case "start" -> {
                    stepsPerEpoch = e.path("steps_per_epoch").asInt();
                    listener.progress(e);
                }
                case "step" -> {
                    MetricStore.StepPoint point = stepPoint(e, stepsPerEpoch);
                    if (known != null && !known.firstStep(point.globalStep())) {
                        return;
                    }
                    steps.add(point);
                    if (steps.size() >= FLUSH_POINTS || System.nanoTime() - lastFlush > FLUSH_NANOS) {
                        flush(List.of());
                    }
                    listener.progress(e);
                }
                case "epoch" -> {
                    // An epoch's figures are stored before its checkpoint is announced; so are the new step points
                    // held back at an epoch the store has.
                    if (known == null || known.firstEpoch(e.path("epoch").asInt())) {
                        flush(List.of(epochPoint(e)));
                        listener.progress(e);
                    } else if (!steps.isEmpty()) {
                        flush(List.of());
                    }
                }
                case "checkpoint" -> listener.checkpoint(e.path("epoch").asInt());
                // a captioning job's BLEU-4 and sampled captions: the latest metrics carry them to the job page
                case "captions" -> listener.progress(e);
                case "done" -> {
                    flush(List.of());
                    done = true;
                    listener.progress(e);
                }
                case "error" -> errorMessage = e.path("message").asText();
                default -> listener.log(line + "\n");
            }
        } catch (RuntimeException storeFailed) {
            // Keep reading: a stalled reader would block the worker on a full pipe. The events file in the job's
            // folder still holds what could not be stored.
            LOG.warn("job {}: cannot store event {}: {}", jobId, line, storeFailed.toString());
        }
    }

    /** Hands over the step points still held back (at the end of the output). */
    public void close() {
        if (!steps.isEmpty()) {
            flush(List.of());
        }
    }

    private void flush(List<MetricStore.EpochPoint> epochs) {
        List<MetricStore.StepPoint> batch = steps;
        steps = new ArrayList<>();
        lastFlush = System.nanoTime();
        listener.points(batch, epochs);
    }

    /** The stored form of a {@code step} event of a run with {@code stepsPerEpoch} steps an epoch. */
    public static MetricStore.StepPoint stepPoint(JsonNode e, int stepsPerEpoch) {
        int epoch = e.path("epoch").asInt();
        int step = e.path("step").asInt();
        return new MetricStore.StepPoint(epoch, step, (long) (epoch - 1) * stepsPerEpoch + step, number(e, "loss"));
    }

    /** The stored form of an {@code epoch} event. */
    public static MetricStore.EpochPoint epochPoint(JsonNode e) {
        return new MetricStore.EpochPoint(e.path("epoch").asInt(), nullable(e, "train_loss"), nullable(e, "train_acc"),
                nullable(e, "val_loss"), nullable(e, "val_acc"), nullable(e, "samples_per_s"), nullable(e, "seconds"),
                nullable(e, "lr"));
    }

    private static double number(JsonNode e, String field) {
        return e.path(field).isNumber() ? e.get(field).asDouble() : Double.NaN;
    }

    private static Double nullable(JsonNode e, String field) {
        return e.path(field).isNumber() ? e.get(field).asDouble() : null;
    }
}
