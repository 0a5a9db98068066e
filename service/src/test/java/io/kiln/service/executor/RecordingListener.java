package io.kiln.service.executor;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.service.store.MetricStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A run listener that keeps every call, in order, as a line of text ("progress step", "points 2+1", "checkpoint 2",
 * "log TEXT", "submitted ID", "waiting REASON", "running NODE"), and the points it was given. An executor calls it
 * from its own threads while the test reads it, so the lists are synchronized.
 */
public class RecordingListener implements RunListener {
    public final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    public final List<MetricStore.StepPoint> steps = Collections.synchronizedList(new ArrayList<>());
    public final List<MetricStore.EpochPoint> epochs = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void progress(JsonNode event) {
        calls.add("progress " + event.path("event").asText());
    }

    @Override
    public void points(List<MetricStore.StepPoint> s, List<MetricStore.EpochPoint> e) {
        calls.add("points " + s.size() + "+" + e.size());
        steps.addAll(s);
        epochs.addAll(e);
    }

    @Override
    public void checkpoint(int epoch) {
        calls.add("checkpoint " + epoch);
    }

    @Override
    public void log(String text) {
        calls.add("log " + text.strip());
    }

    @Override
    public void submitted(String batchJob) {
        calls.add("submitted " + batchJob);
    }

    @Override
    public void waiting(String reason) {
        calls.add("waiting " + reason);
    }

    @Override
    public void running(String where, Instant since) {
        calls.add("running " + where);
    }
}
