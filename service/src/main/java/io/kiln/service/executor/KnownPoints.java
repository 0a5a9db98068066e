package io.kiln.service.executor;

import io.kiln.service.store.MetricStore;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The metric points of a job that the store has, and those handed on since, by global step and by epoch: the
 * {@link EngineOutput} of a batch job drops a step or an epoch it already holds, with its progress event. A batch
 * job's output is read from the start of its file when a restarted service takes the job back, and again after
 * SLURM requeued it in place (the resumed engine reports the steps after its checkpoint a second time): each
 * metric point, and the progress event that goes with it, reaches the store once.
 */
public final class KnownPoints {
    private final Set<Long> steps = new HashSet<>();
    private final Set<Integer> epochs = new HashSet<>();

    public KnownPoints(List<MetricStore.StepPoint> storedSteps, List<MetricStore.EpochPoint> storedEpochs) {
        storedSteps.forEach(p -> steps.add(p.globalStep()));
        storedEpochs.forEach(p -> epochs.add(p.epoch()));
    }

    /** Whether the step is new; from now on it is known. */
    boolean firstStep(long globalStep) {
        return steps.add(globalStep);
    }

    /** Whether the epoch is new; from now on it is known. */
    boolean firstEpoch(int epoch) {
        return epochs.add(epoch);
    }
}
