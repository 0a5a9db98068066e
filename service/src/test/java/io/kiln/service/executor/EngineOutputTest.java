package io.kiln.service.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.service.store.MetricStore;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The engine's JSON lines read into listener calls, in the order the store needs them. */
@Timeout(10)
class EngineOutputTest {
    @Test
    void pointsArriveInBatchesAndAnEpochsFiguresBeforeItsCheckpoint() {
        RecordingListener r = new RecordingListener();
        EngineOutput out = new EngineOutput(1, r);
        out.line("{\"event\":\"start\",\"epochs\":2,\"steps_per_epoch\":3,\"start_epoch\":2}");
        out.line("{\"event\":\"step\",\"epoch\":2,\"step\":1,\"steps\":3,\"loss\":0.5}");
        out.line("{\"event\":\"step\",\"epoch\":2,\"step\":3,\"steps\":3,\"loss\":null}");
        out.line("not json: a library's own output");
        out.line("{\"event\":\"epoch\",\"epoch\":2,\"train_loss\":0.4,\"val_acc\":0.9,\"seconds\":1.5}");
        out.line("{\"event\":\"checkpoint\",\"epoch\":2,\"path\":\"x\"}");
        out.line("{\"event\":\"done\",\"test_loss\":0.3,\"test_acc\":0.95}");
        out.close();
        assertEquals(List.of("progress start", "progress step", "progress step", "log not json: a library's own output",
                "points 2+1", "progress epoch", "checkpoint 2", "points 0+0", "progress done"), r.calls);
        assertEquals(List.of(4L, 6L), r.steps.stream().map(MetricStore.StepPoint::globalStep).toList(),
                "global steps continue after the resumed epoch 1 of 3 steps");
        assertEquals(0.5, r.steps.get(0).loss());
        assertTrue(Double.isNaN(r.steps.get(1).loss()), "a null loss is NaN");
        MetricStore.EpochPoint e = r.epochs.get(0);
        assertEquals(2, e.epoch());
        assertEquals(0.4, e.trainLoss());
        assertEquals(0.9, e.valAcc());
        assertNull(e.valLoss(), "a figure the event lacks");
        assertTrue(out.done());
        assertNull(out.errorMessage());
    }

    @Test
    void manyStepsAreHandedOverEveryFlushPointsAndTheRestAtTheEnd() {
        RecordingListener r = new RecordingListener();
        EngineOutput out = new EngineOutput(1, r);
        out.line("{\"event\":\"start\",\"epochs\":1,\"steps_per_epoch\":1000,\"start_epoch\":1}");
        for (int s = 1; s <= EngineOutput.FLUSH_POINTS + 7; s++) {
            out.line("{\"event\":\"step\",\"epoch\":1,\"step\":" + s + ",\"steps\":1000,\"loss\":1}");
        }
        long batches = r.calls.stream().filter(c -> c.startsWith("points")).count();
        assertTrue(batches >= 1, "a batch by " + EngineOutput.FLUSH_POINTS + " points: " + batches);
        out.close();
        assertEquals(EngineOutput.FLUSH_POINTS + 7, r.steps.size(), "none lost, none doubled");
        assertFalse(out.done(), "no done event: the run did not finish");
    }

    @Test
    void theEnginesErrorIsKeptForTheFailure() {
        RecordingListener r = new RecordingListener();
        EngineOutput out = new EngineOutput(1, r);
        out.line("{\"event\":\"error\",\"message\":\"training.epochs: must be at least 1\"}");
        assertEquals("training.epochs: must be at least 1", out.errorMessage());
        assertEquals(List.of(), r.calls);
    }
}
