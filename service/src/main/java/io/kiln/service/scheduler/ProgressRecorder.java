package io.kiln.service.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.config.KilnLimits;
import io.kiln.service.config.KilnPaths;
import io.kiln.service.executor.RunListener;
import io.kiln.service.jobs.JobEvents;
import io.kiln.service.jobs.JobHistory;
import io.kiln.service.jobs.JobLog;
import io.kiln.service.jobs.JobViews;
import io.kiln.service.store.JobRepository;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.JobState;
import io.kiln.service.store.MetricStore;
import io.kiln.service.store.StoreHealth;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.List;

/**
 * Records one run's output: progress and the latest metrics on the job, metric points and the log in the
 * store, and each change told to the job's live listeners; for a batch job, its id and whether the batch system
 * holds it back or runs it.
 *
 * <p>While the store cannot be written ({@link StoreHealth}), nothing is lost: the latest progress and
 * checkpoint are kept to be written later, log text is held up to kiln.outage-log-bytes, and the metric points
 * are replayed from the job's events file ({@link EventsReplay}) once the store takes writes again, at the next
 * output of the run or the scheduler's next tick ({@link #catchUp}). Live listeners are told as usual. A batch
 * job's latest state (held back or running) is kept the same way; its id is not: it must be stored before the
 * batch system may start it.
 */
final class ProgressRecorder implements RunListener {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The per-epoch figures the job shows as its latest metrics. */
    private static final List<String> EPOCH_FIELDS = List.of("train_loss", "train_acc", "val_loss", "val_acc",
            "samples_per_s", "seconds");

    /** What every recorder writes to. */
    @Singleton
    record Store(JobRepository jobs, MetricStore metrics, JobEvents events, JobLog log, StoreHealth health,
                 KilnPaths paths, KilnLimits limits, JobHistory history) {
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
    /** What could not be written yet. */
    private boolean progressPending;
    private boolean pointsBehind;
    private int checkpointPending = -1;
    private final StringBuilder heldLog = new StringBuilder();
    private long droppedLogChars;
    /** The last points replayed from the file: later batches hold nothing at or before them. */
    private long replayedStep = -1;
    private int replayedEpoch = -1;
    /** The batch system's reason for holding the run back, null once it runs. */
    private String waitingFor;
    /** The latest batch state not yet in the store: only the latest counts. */
    private Runnable batchStatePending;

    private ProgressRecorder(Store store, JobRow job) {
        this.store = store;
        this.id = job.id();
        this.epochs = job.epochs();
        this.waitingFor = job.waitingReason();
        JsonNode previous = JobViews.parse(job.latestMetrics());
        if (previous.isObject()) {
            // A resumed run keeps showing the figures of the epochs before it until it has its own.
            latest.setAll((ObjectNode) previous);
        }
    }

    @Override
    public void progress(JsonNode e) {
        String type = e.path("event").asText();
        ObjectNode data;
        synchronized (this) {
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
                case "captions" -> {
                    // a captioning job's epoch: its validation BLEU-4 and the greedy captions the job page shows
                    copy(e, "val_bleu4");
                    if (e.path("samples").isArray()) {
                        latest.set("captions", e.get("samples").deepCopy());
                        latest.put("captions_epoch", e.path("epoch").asInt());
                    }
                }
                default -> {
                    return;
                }
            }
            progressPending = true;
            catchUp();
            data = JSON.createObjectNode();
            data.put("epoch", epoch);
            data.put("epochs", epochs);
            data.put("step", step);
            data.put("steps", steps);
            data.set("metrics", latest.deepCopy());
        }
        store.events().publish(id, type.equals("start") ? "progress" : type, data);
    }

    private void copy(JsonNode e, String field) {
        if (e.path(field).isNumber()) {
            latest.put(field, e.get(field).asDouble());
        }
    }

    @Override
    public synchronized void points(List<MetricStore.StepPoint> stepPoints, List<MetricStore.EpochPoint> epochPoints) {
        boolean caughtUp = catchUp();
        // After a replay, the file's points may include these.
        List<MetricStore.StepPoint> s = stepPoints.stream().filter(p -> p.globalStep() > replayedStep).toList();
        List<MetricStore.EpochPoint> e = epochPoints.stream().filter(p -> p.epoch() > replayedEpoch).toList();
        if (s.isEmpty() && e.isEmpty()) {
            return;
        }
        pointsBehind = !caughtUp || !write(() -> store.metrics().append(id, s, e));
    }

    @Override
    public synchronized void checkpoint(int checkpointEpoch) {
        checkpointPending = checkpointEpoch;
        catchUp();
    }

    @Override
    public synchronized void log(String text) {
        if (catchUp() && write(() -> store.log().append(id, text))) {
            return;
        }
        long room = store.limits().outageLogBytes() - heldLog.length();
        if (room >= text.length()) {
            heldLog.append(text);
        } else {
            droppedLogChars += text.length();
        }
    }

    /**
     * Writes what is pending, if the store takes writes; whether nothing is pending any more. The scheduler calls
     * it on every tick for runs that have gone quiet or ended.
     */
    synchronized boolean catchUp() {
        if (!pointsBehind && !progressPending && checkpointPending < 0 && heldLog.isEmpty() && droppedLogChars == 0
                && batchStatePending == null) {
            return true;
        }
        if (!store.health().up()) {
            return false;
        }
        if (batchStatePending != null) {
            if (!write(batchStatePending)) {
                return false;
            }
            batchStatePending = null;
        }
        if (pointsBehind && !write(this::replay)) {
            return false;
        }
        pointsBehind = false;
        if (checkpointPending >= 0) {
            int c = checkpointPending;
            if (!write(() -> store.jobs().updateCheckpointEpoch(id, c))) {
                return false;
            }
            checkpointPending = -1;
        }
        if (progressPending) {
            String metrics = latest.toString();
            if (!write(() -> store.jobs().updateProgress(id, epoch, epochs, step, steps, metrics, Instant.now()))) {
                return false;
            }
            progressPending = false;
        }
        if (!heldLog.isEmpty() || droppedLogChars > 0) {
            String note = droppedLogChars == 0 ? "" : "kiln: " + droppedLogChars + " characters of log were lost while "
                    + "the job store could not be written (kiln.outage-log-bytes)\n";
            if (!write(() -> store.log().append(id, heldLog + note))) {
                return false;
            }
            heldLog.setLength(0);
            droppedLogChars = 0;
        }
        return true;
    }

    /** @throws IllegalStateException when the job no longer runs here (cancelled or taken over meanwhile) */
    @Override
    public void submitted(String batchJob) {
        // Not held for later: a restarted service finds the batch job only by this id, so it is stored first.
        if (store.jobs().updateBatchJob(id, batchJob) != 1) {
            throw new IllegalStateException("job " + id + " is no longer running here");
        }
    }

    @Override
    public synchronized void waiting(String reason) {
        if (reason.equals(waitingFor)) {
            return;
        }
        waitingFor = reason;
        batchStatePending = () -> {
            store.jobs().updateWaiting(id, reason);
            store.history().record(id, JobState.QUEUED, "the batch system holds it back: " + reason);
        };
        catchUp();
    }

    @Override
    public synchronized void running(String where, Instant since) {
        waitingFor = null;
        batchStatePending = () -> {
            store.jobs().updateRunningOn(id, where, since);
            store.history().record(id, JobState.RUNNING, "running on " + where + " since " + since);
        };
        catchUp();
    }

    /** The points the store lacks, from the events file the engine writes beside its output. */
    private void replay() {
        EventsReplay.Points missing;
        try {
            missing = EventsReplay.missing(store.paths().events(id), Integer.MAX_VALUE, store.metrics(), id);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (!missing.isEmpty()) {
            store.metrics().append(id, missing.steps(), missing.epochs());
            store.log().append(id, "kiln: stored " + missing.epochs().size() + " epoch and " + missing.steps().size()
                    + " step points from " + store.paths().events(id).getFileName() + " that arrived while the job "
                    + "store could not be written\n");
            replayedStep = Math.max(replayedStep, missing.steps().stream().mapToLong(MetricStore.StepPoint::globalStep)
                    .max().orElse(-1));
            replayedEpoch = Math.max(replayedEpoch, missing.epochs().stream().mapToInt(MetricStore.EpochPoint::epoch)
                    .max().orElse(-1));
        }
    }

    /** Runs a write; false when the store failed (it is then marked down), so that the caller keeps it pending. */
    private boolean write(Runnable write) {
        if (!store.health().up()) {
            return false;
        }
        try {
            write.run();
            return true;
        } catch (RuntimeException e) {
            if (!StoreHealth.isStoreFailure(e)) {
                throw e;
            }
            store.health().failed(e);
            return false;
        }
    }
}
