package io.kiln.service.executor;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.service.store.MetricStore;
import java.time.Instant;
import java.util.List;

/**
 * Where a run's output goes as it comes (the scheduler's progress recorder writes it to the store). An executor
 * calls it from one thread at a time per run.
 */
public interface RunListener {
    /** A {@code start}, {@code step}, {@code epoch} or {@code done} event of the engine. */
    void progress(JsonNode event);

    /** Metric points, in batches; an epoch's points come before its checkpoint is announced. */
    void points(List<MetricStore.StepPoint> steps, List<MetricStore.EpochPoint> epochs);

    /** The engine wrote its checkpoint after {@code epoch}. */
    void checkpoint(int epoch);

    /** Log text: the engine's human log, and any output line that is not an event. */
    void log(String text);

    /**
     * The run became batch job {@code batchJob}. Called before the batch system may start it, and returns once
     * the id is stored: a restarted service finds the batch job by it.
     */
    default void submitted(String batchJob) {
    }

    /** The batch system holds the run back (pending), for this reason in its own words. */
    default void waiting(String reason) {
    }

    /** The batch system started the run on {@code where} (a node), at {@code since}. */
    default void running(String where, Instant since) {
    }
}
