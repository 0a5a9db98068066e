package io.kiln.service.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.service.store.MetricStore;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A batch job's events read again (after a restart of the service, or a requeue by SLURM) reach the store once. */
@Timeout(10)
class KnownPointsTest {
    static final class Recorded implements RunListener {
        final List<Long> steps = new ArrayList<>();
        final List<Integer> epochs = new ArrayList<>();
        final List<String> progress = new ArrayList<>();

        @Override
        public void progress(JsonNode event) {
            progress.add(event.path("event").asText() + event.path("epoch").asInt() + "." + event.path("step").asInt());
        }

        @Override
        public void points(List<MetricStore.StepPoint> s, List<MetricStore.EpochPoint> e) {
            s.forEach(p -> steps.add(p.globalStep()));
            e.forEach(p -> epochs.add(p.epoch()));
        }

        @Override
        public void checkpoint(int epoch) {
        }

        @Override
        public void log(String text) {
        }
    }

    static List<String> run(int fromEpoch, int toEpoch) {
        List<String> lines = new ArrayList<>();
        lines.add("{\"event\":\"start\",\"epochs\":3,\"steps_per_epoch\":2,\"start_epoch\":" + fromEpoch + "}");
        for (int e = fromEpoch; e <= toEpoch; e++) {
            for (int s = 1; s <= 2; s++) {
                lines.add("{\"event\":\"step\",\"epoch\":" + e + ",\"step\":" + s + ",\"steps\":2,\"loss\":0.5}");
            }
            lines.add("{\"event\":\"epoch\",\"epoch\":" + e + ",\"train_loss\":0.5}");
        }
        return lines;
    }

    static void feed(RunListener listener, KnownPoints known, List<String> lines) {
        EngineOutput out = new EngineOutput(1, listener, known);
        lines.forEach(out::line);
        out.close();
    }

    @Test
    void pointsAlreadyStoredAreLeftOutAndNewOnesPass() {
        Recorded r = new Recorded();
        List<MetricStore.StepPoint> stored = List.of(new MetricStore.StepPoint(1, 1, 1, 0.5), new MetricStore.StepPoint(1, 2, 2, 0.5));
        List<MetricStore.EpochPoint> storedEpochs = List.of(new MetricStore.EpochPoint(1, 0.5, null, null, null, null, null, null));
        feed(r, new KnownPoints(stored, storedEpochs), run(1, 3));
        assertEquals(List.of(3L, 4L, 5L, 6L), r.steps);
        assertEquals(List.of(2, 3), r.epochs);
        assertEquals(List.of("start0.0", "step2.1", "step2.2", "epoch2.0", "step3.1", "step3.2", "epoch3.0"), r.progress,
                "the progress of each new point passes, that of a stored one does not");
    }

    @Test
    void aRunRequeuedInPlaceReportsItsLastEpochsAgainAndTheyPassOnce() {
        Recorded r = new Recorded();
        List<String> lines = new ArrayList<>(run(1, 2));
        lines.addAll(run(2, 3)); // resumed after epoch 1's checkpoint, in the same output
        feed(r, new KnownPoints(List.of(), List.of()), lines);
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L, 6L), r.steps);
        assertEquals(List.of(1, 2, 3), r.epochs);
    }
}
