package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.train.Trainer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * What proves that a job resumed rather than started over: the scheduler's and the engine's log lines name the
 * checkpoint's epoch and global step, the job's events file shows the last run starting after it, the points of
 * the epochs before it are the ones stored before the interruption, and the final weights are those of an
 * uninterrupted run. A job that silently restarted from epoch 1 fails each of these.
 */
final class ResumeChecks {
    static final ObjectMapper JSON = new ObjectMapper();

    private ResumeChecks() {
    }

    /** Every epoch 1..epochs stored once, in order; every step stored once, at the global step its epoch gives. */
    static void assertEpochsOnceEach(JsonNode metrics, int epochs, int stepsPerEpoch) {
        List<Integer> seen = new ArrayList<>();
        metrics.get("epochs").forEach(e -> seen.add(e.get("epoch").asInt()));
        List<Integer> expected = IntStream.rangeClosed(1, epochs).boxed().toList();
        if (!seen.equals(expected)) {
            TreeSet<Integer> missing = new TreeSet<>(expected);
            seen.forEach(missing::remove);
            throw new AssertionError(seen.size() + " epoch points for " + epochs + " epochs; missing "
                    + (missing.size() > 20 ? missing.size() + " (" + missing.first() + " to " + missing.last() + ")" : missing));
        }
        Set<Long> steps = new HashSet<>();
        for (JsonNode s : metrics.get("steps")) {
            assertTrue(steps.add(s.get("globalStep").asLong()), "step " + s + " stored twice");
            assertEquals((s.get("epoch").asLong() - 1) * stepsPerEpoch + s.get("step").asLong(), s.get("globalStep").asLong(),
                    "global step of " + s);
        }
        assertTrue(metrics.get("steps").size() >= epochs, "a step point per epoch at least, got "
                + metrics.get("steps").size());
    }

    /**
     * The job's last run resumed after epoch {@code k}: the scheduler logged it once, the engine restored global
     * step {@code k * stepsPerEpoch}, and in the events file the last run starts at epoch k + 1, its first step is
     * of that epoch, and it reports no epoch up to k again.
     */
    static void assertResumedAfter(Path jobDir, String log, int k, int stepsPerEpoch) {
        List<String> kiln = log.lines().filter(l -> l.startsWith("kiln:")).toList();
        assertEquals(1, kiln.stream().filter(l -> l.startsWith("kiln: starting on ")).count(), kiln.toString());
        assertEquals(1, kiln.stream().filter(l -> l.startsWith("kiln: resuming after epoch " + k + " on ")).count(),
                "the scheduler resumed after the checkpoint's epoch " + k + ": " + kiln);
        assertTrue(log.lines().anyMatch(l -> l.equals("resuming after epoch " + k + " (step " + (long) k * stepsPerEpoch + ")")),
                "the engine restored epoch " + k + " and global step " + (long) k * stepsPerEpoch + ": "
                        + log.lines().filter(l -> l.contains("resum")).toList());

        List<JsonNode> events = events(jobDir);
        int lastStart = -1;
        List<Integer> startEpochs = new ArrayList<>();
        for (int i = 0; i < events.size(); i++) {
            if (events.get(i).path("event").asText().equals("start")) {
                lastStart = i;
                startEpochs.add(events.get(i).path("start_epoch").asInt());
            }
        }
        assertEquals(List.of(1, k + 1), startEpochs, "runs recorded in " + Trainer.EVENTS_FILE + " start at these epochs");
        JsonNode firstStep = events.subList(lastStart, events.size()).stream()
                .filter(e -> e.path("event").asText().equals("step")).findFirst().orElseThrow();
        assertEquals(k + 1, firstStep.path("epoch").asInt(), "the resumed run's first step: " + firstStep);
        events.subList(lastStart, events.size()).stream().filter(e -> e.path("event").asText().equals("epoch"))
                .forEach(e -> assertTrue(e.path("epoch").asInt() > k, "the resumed run reported epoch " + e + " again"));
    }

    /** The per-epoch points up to epoch k in {@code after} are the very ones in {@code before} (not recomputed). */
    static void assertKept(JsonNode before, JsonNode after, int k) {
        int compared = 0;
        for (JsonNode e : before.get("epochs")) {
            int epoch = e.get("epoch").asInt();
            if (epoch <= k) {
                assertEquals(e, after.get("epochs").get(epoch - 1), "epoch " + epoch + " as stored before the restart");
                compared++;
            }
        }
        assertTrue(compared > 0, "no epoch up to " + k + " was stored before the restart: " + before.get("epochs"));
    }

    /**
     * The job's final weights equal those of the same spec trained without interruption by the engine's command
     * line (the same training, seed and data: resuming from a checkpoint must change nothing).
     */
    static void assertSameWeightsAsUninterrupted(Path jobDir, Path dataRoot, Path scratch) throws IOException,
            InterruptedException {
        Path out = Files.createDirectories(scratch.resolve("uninterrupted"));
        Path log = scratch.resolve("uninterrupted.log");
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        Process p = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                "io.kiln.engine.cli.EngineMain", "train", "--spec", jobDir.resolve("spec.json").toString(),
                "--data-root", dataRoot.toString(), "--device", "cpu", "--out", out.toString())
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the uninterrupted run did not end in 120 s");
        }
        assertEquals(0, p.exitValue(), () -> "the uninterrupted run failed: " + tail(log));
        Checkpoint straight = Checkpoint.read(out.resolve(Trainer.CHECKPOINT_FILE));
        Checkpoint resumed = Checkpoint.read(jobDir.resolve(Trainer.CHECKPOINT_FILE));
        assertEquals(straight.globalStep(), resumed.globalStep());
        assertEquals(straight.tensors().keySet(), resumed.tensors().keySet());
        for (Checkpoint.Entry e : straight.tensors().values()) {
            assertArrayEquals(e.data(), resumed.tensor(e.name()).data(), 1e-6f, e.name());
        }
    }

    static List<JsonNode> events(Path jobDir) {
        List<JsonNode> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(jobDir.resolve(Trainer.EVENTS_FILE))) {
                try {
                    out.add(JSON.readTree(line));
                } catch (IOException cutShort) {
                    // the last line of a run killed while writing it
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return e.toString();
        }
    }
}
