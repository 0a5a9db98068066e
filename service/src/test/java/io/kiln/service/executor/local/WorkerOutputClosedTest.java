package io.kiln.service.executor.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.data.SyntheticData;
import io.kiln.engine.train.Trainer;
import io.kiln.service.executor.Launch;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker whose standard output closes (its server died: nobody reads its events) stops by itself, with its own
 * exit status and a line saying why, instead of training on unseen. The worker runs the engine's command as
 * {@link LocalExecutor} starts it, and this test is its server: it reads the first events, then closes the pipe.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class WorkerOutputClosedTest {
    @Test
    void aWorkerStopsWhenItsStandardOutputCloses(@TempDir Path dir) throws Exception {
        SyntheticData.writeIdx(dir.resolve("data"), "tiny", 200, 40, 4, 8, 3);
        Path spec = dir.resolve("spec.json");
        int epochs = 10_000;
        Files.writeString(spec, """
                {"name":"orphan","data":{"name":"tiny","validationSplit":0.2},
                 "model":{"layers":[{"type":"flatten"},{"type":"dense","units":16},{"type":"relu"},{"type":"dense","units":4}]},
                 "optimizer":{"type":"sgd","lr":0.05},"training":{"epochs":%d,"batchSize":32,"seed":1},"device":"cpu"}"""
                .formatted(epochs));
        Path out = dir.resolve("job");
        Path stderr = dir.resolve("stderr.txt");
        String java = ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                LocalExecutor.ENGINE_MAIN));
        cmd.addAll(new Launch(null, null, out, spec, dir.resolve("data"), false, 0, null, null).trainArguments("cpu"));
        Process worker = new ProcessBuilder(cmd).redirectError(stderr.toFile()).start();
        try {
            BufferedReader events = new BufferedReader(new InputStreamReader(worker.getInputStream(), StandardCharsets.UTF_8));
            String line;
            int checkpoints = 0;
            while (checkpoints < 2 && (line = events.readLine()) != null) {
                checkpoints += line.contains("\"event\":\"checkpoint\"") ? 1 : 0;
            }
            assertEquals(2, checkpoints, "the worker trains and checkpoints while its events are read");
            events.close();

            assertTrue(worker.waitFor(60, TimeUnit.SECONDS), "the worker still trains with nobody reading its events");
            assertEquals(1, worker.exitValue(), "its own exit status for a closed output");
            String log = Files.readString(stderr);
            assertTrue(log.contains("standard output is closed (its reader is gone); stopping"), log);
            int reached = Checkpoint.readEpoch(out.resolve(Trainer.CHECKPOINT_FILE));
            assertTrue(reached >= 2 && reached < epochs, "stopped by itself after epoch " + reached);
        } finally {
            worker.destroyForcibly();
        }
    }
}
