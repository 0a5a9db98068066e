package io.kiln.service.executor.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.service.executor.Outcome;
import io.kiln.service.executor.RunListener;
import io.kiln.service.store.MetricStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A worker's log lines reach the listener as they are written, not when a later line comes: a CNN's epoch line
 * can be its last output for minutes. The worker here is a shell that writes a burst of lines and then stays
 * silent, as an engine does between epochs.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class WorkerLogHandoverTest {
    /** What the listener was given, and when. */
    static final class Recorded implements RunListener {
        final StringBuilder log = new StringBuilder();
        int writes;

        @Override
        public void progress(JsonNode event) {
        }

        @Override
        public void points(List<MetricStore.StepPoint> steps, List<MetricStore.EpochPoint> epochs) {
        }

        @Override
        public void checkpoint(int epoch) {
        }

        @Override
        public synchronized void log(String text) {
            log.append(text);
            writes++;
        }

        synchronized String text() {
            return log.toString();
        }
    }

    @Test
    void aLineIsHandedOverWhileTheWorkerIsSilentAfterIt() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/bin/sh")), "needs /bin/sh to play a worker");
        Recorded listener = new Recorded();
        // A burst (the model summary), then one line (an epoch's), then a long silence.
        String script = "for i in 1 2 3 4 5; do echo \"layer $i\" >&2; done; sleep 0.3; echo 'epoch 1: train loss 0.5' >&2; "
                + "sleep 30";
        WorkerProcess worker = new WorkerProcess(1, new ProcessBuilder("/bin/sh", "-c", script), listener);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            while (!listener.text().contains("epoch 1:") && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertTrue(worker.alive(), "the worker is still running");
            assertTrue(listener.text().contains("epoch 1: train loss 0.5\n"),
                    "the epoch line arrived within 3 s while the worker is silent; the log so far: " + listener.text());
            assertTrue(listener.text().startsWith("layer 1\nlayer 2\nlayer 3\nlayer 4\nlayer 5\n"), listener.text());
            assertTrue(listener.writes <= 3, "a burst is handed over in one piece, not line by line: " + listener.writes
                    + " writes");
        } finally {
            worker.stop(1000);
        }
    }

    @Test
    void everythingIsHandedOverBeforeTheWorkerIsReportedEnded() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/bin/sh")), "needs /bin/sh to play a worker");
        Recorded listener = new Recorded();
        WorkerProcess worker = new WorkerProcess(2, new ProcessBuilder("/bin/sh", "-c",
                "i=0; while [ $i -lt 2000 ]; do echo \"line $i of the log\" >&2; i=$((i+1)); done; exit 3"), listener);
        Outcome o = worker.await();
        assertEquals(3, o.exitCode());
        String[] lines = listener.text().split("\n");
        assertEquals(2000, lines.length, "every line, in order");
        assertEquals("line 1999 of the log", lines[1999]);
        assertTrue(o.lastOutput().endsWith("line 1999 of the log"), o.lastOutput());
    }
}
