package io.kiln.service.executor.slurm;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.service.executor.RunListener;
import io.kiln.service.store.MetricStore;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Passes a run's output on, less what the store already has. A batch job's output is read from the start of its
 * file when a restarted service takes the job back, and again after SLURM requeued it in place (the resumed
 * engine reports the steps after its checkpoint a second time): each metric point, and the progress event that
 * goes with it, reaches the store once.
 */
final class KnownPoints implements RunListener {
    private final RunListener next;
    /** Points stored or passed on: by global step, and by epoch. */
    private final Set<Long> steps = new HashSet<>();
    private final Set<Integer> epochs = new HashSet<>();
    /**
     * The same for progress events, kept apart: the engine's reader hands a step's point over before its progress
     * event, which must still pass.
     */
    private final Set<Long> progressSteps = new HashSet<>();
    private final Set<Integer> progressEpochs = new HashSet<>();
    private int stepsPerEpoch;

    KnownPoints(RunListener next, List<MetricStore.StepPoint> storedSteps, List<MetricStore.EpochPoint> storedEpochs) {
        this.next = next;
        storedSteps.forEach(p -> steps.add(p.globalStep()));
        storedEpochs.forEach(p -> epochs.add(p.epoch()));
        progressSteps.addAll(steps);
        progressEpochs.addAll(epochs);
    }

    @Override
    public void progress(JsonNode e) {
        switch (e.path("event").asText()) {
            case "start" -> stepsPerEpoch = e.path("steps_per_epoch").asInt();
            case "step" -> {
                long global = (long) (e.path("epoch").asInt() - 1) * stepsPerEpoch + e.path("step").asInt();
                if (!progressSteps.add(global)) {
                    return;
                }
            }
            case "epoch" -> {
                if (!progressEpochs.add(e.path("epoch").asInt())) {
                    return;
                }
            }
            default -> {
            }
        }
        next.progress(e);
    }

    @Override
    public void points(List<MetricStore.StepPoint> s, List<MetricStore.EpochPoint> e) {
        List<MetricStore.StepPoint> newSteps = s.stream().filter(p -> steps.add(p.globalStep())).toList();
        List<MetricStore.EpochPoint> newEpochs = e.stream().filter(p -> epochs.add(p.epoch())).toList();
        if (!newSteps.isEmpty() || !newEpochs.isEmpty()) {
            next.points(newSteps, newEpochs);
        }
    }

    @Override
    public void checkpoint(int epoch) {
        next.checkpoint(epoch);
    }

    @Override
    public void log(String text) {
        next.log(text);
    }

    @Override
    public void submitted(String batchJob) {
        next.submitted(batchJob);
    }

    @Override
    public void waiting(String reason) {
        next.waiting(reason);
    }

    @Override
    public void running(String where, Instant since) {
        next.running(where, since);
    }
}
