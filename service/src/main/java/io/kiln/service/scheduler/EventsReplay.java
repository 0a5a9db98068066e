package io.kiln.service.scheduler;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kiln.service.executor.EngineOutput;
import io.kiln.service.store.MetricStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * A job's metric points as its events file tells them. The engine appends every event of every run to the file,
 * so the file is the record to replay from when the store missed points (the server was down, or the store could
 * not be written). A run starts with a {@code start} event at its first epoch; points of that epoch and later
 * from earlier runs were superseded by it, and are dropped.
 */
final class EventsReplay {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Points by global step and by epoch. */
    record Points(List<MetricStore.StepPoint> steps, List<MetricStore.EpochPoint> epochs) {
        boolean isEmpty() {
            return steps.isEmpty() && epochs.isEmpty();
        }
    }

    private EventsReplay() {
    }

    /** The points of epochs up to {@code upToEpoch} that the file holds; none when there is no file. */
    static Points read(Path eventsFile, int upToEpoch) throws IOException {
        TreeMap<Long, MetricStore.StepPoint> steps = new TreeMap<>();
        TreeMap<Integer, MetricStore.EpochPoint> epochs = new TreeMap<>();
        if (!Files.isRegularFile(eventsFile)) {
            return new Points(List.of(), List.of());
        }
        int[] stepsPerEpoch = {0};
        try (Stream<String> lines = Files.lines(eventsFile)) {
            lines.forEach(line -> {
                JsonNode e = parse(line);
                switch (e.path("event").asText()) {
                    case "start" -> {
                        stepsPerEpoch[0] = e.path("steps_per_epoch").asInt();
                        int first = e.path("start_epoch").asInt(1);
                        steps.values().removeIf(p -> p.epoch() >= first);
                        epochs.tailMap(first, true).clear();
                    }
                    case "step" -> {
                        MetricStore.StepPoint p = EngineOutput.stepPoint(e, stepsPerEpoch[0]);
                        steps.put(p.globalStep(), p);
                    }
                    case "epoch" -> {
                        MetricStore.EpochPoint p = EngineOutput.epochPoint(e);
                        epochs.put(p.epoch(), p);
                    }
                    default -> {
                        // checkpoint, done, error and lines cut short by a crash (not JSON) carry no points
                    }
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        steps.values().removeIf(p -> p.epoch() > upToEpoch);
        epochs.tailMap(upToEpoch, false).clear();
        return new Points(new ArrayList<>(steps.values()), new ArrayList<>(epochs.values()));
    }

    /** The points of the file up to {@code upToEpoch} that the store lacks. */
    static Points missing(Path eventsFile, int upToEpoch, MetricStore store, long jobId) throws IOException {
        Points file = read(eventsFile, upToEpoch);
        if (file.isEmpty()) {
            return file;
        }
        Set<Long> haveSteps = new HashSet<>();
        store.steps(jobId).forEach(p -> haveSteps.add(p.globalStep()));
        Set<Integer> haveEpochs = new HashSet<>();
        store.epochs(jobId).forEach(p -> haveEpochs.add(p.epoch()));
        return new Points(file.steps().stream().filter(p -> !haveSteps.contains(p.globalStep())).toList(),
                file.epochs().stream().filter(p -> !haveEpochs.contains(p.epoch())).toList());
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException notJson) {
            return JSON.missingNode();
        }
    }
}
