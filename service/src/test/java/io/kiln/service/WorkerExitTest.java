package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Workers that fail for real, over real HTTP: out of Java heap (the memory check is off here, and the worker heap
 * 64 MiB), a diverged loss and data gone by the time the job runs; each job's error says which, with the limit
 * and what to change.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class WorkerExitTest {
    static final Duration WAIT = Duration.ofSeconds(120);
    Path home;
    @AutoClose
    KilnServer kiln;

    @BeforeAll
    void start() throws IOException {
        kiln = KilnServer.onTinyData("kiln-worker-exit", 600, 200, Map.of("kiln.memory-check", "false",
                "kiln.worker-heap", "64m"));
        home = kiln.home();
    }

    String failedWith(String spec) {
        String id = kiln.submit(spec);
        JsonNode job = kiln.awaitState(id, "FAILED", WAIT);
        return job.path("error").asText();
    }

    @Test
    void aWorkerOutOfHeapSaysSoWithTheSettingToRaise() {
        // 2^20 units on 64 inputs: 256 MiB of weights in a 64 MiB heap.
        String error = failedWith(TestData.spec("heap", "tiny", 1).replace("\"units\":16", "\"units\":1048576"));
        assertTrue(error.startsWith("out of memory: the worker's Java heap (kiln.worker-heap = 64m) is full"), error);
        assertTrue(error.contains("java.lang.OutOfMemoryError: Java heap space")
                && error.endsWith("raise kiln.worker-heap or lower training.batchSize"), error);
    }

    @Test
    void aDivergedLossSaysSo() {
        String spec = TestData.spec("diverges", "tiny", 2).replace("\"lr\":0.05", "\"lr\":90")
                .replace("\"validationSplit\":0.2", "\"validationSplit\":0.2,\"normalize\":\"none\"")
                .replace("\"optimizer\"", "\"loss\":\"mse\",\"optimizer\"");
        String error = failedWith(spec);
        assertTrue(error.startsWith("the loss diverged: training diverged") && error.contains("lower optimizer.lr"), error);
    }

    @Test
    void dataGoneWhenTheJobRunsIsTheEnginesRefusal() throws Exception {
        TestData.write(home.resolve("data"), "going", 100, 40, 4);
        String blocker = kiln.submit(TestData.spec("blocker", "tiny", 500));
        kiln.awaitState(blocker, "RUNNING", WAIT);
        String id = kiln.submit(TestData.spec("late", "going", 1));
        try (Stream<Path> s = Files.walk(home.resolve("data").resolve("going"))) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        assertEquals(200, kiln.post("/api/v1/jobs/" + blocker + "/cancel", KilnServer.ADMIN, null).status());
        JsonNode job = kiln.awaitState(id, "FAILED", WAIT);
        String error = job.path("error").asText();
        assertTrue(error.startsWith("the engine refused the job: dataset \"going\" not found"), error);
    }
}
