package io.kiln.service.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.store.MetricStore;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One job's worker: a child JVM running the engine's {@code train} command. Reads its JSON lines (stdout) and
 * log (stderr) on two threads and hands them to a {@link Sink} in batches; the sink writes the store.
 */
public final class WorkerProcess {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerProcess.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int FLUSH_POINTS = 200;
    private static final long FLUSH_NANOS = 1_000_000_000L;

    /** Where a worker's output goes. Called from the reader threads, never concurrently for one worker. */
    public interface Sink {
        void progress(JsonNode event);

        void points(List<MetricStore.StepPoint> steps, List<MetricStore.EpochPoint> epochs);

        void checkpoint(int epoch);

        void log(String text);
    }

    private final long jobId;
    private final Process process;
    private final Sink sink;
    private final Thread stdout;
    private final Thread stderr;
    private final Deque<String> lastErrors = new ArrayDeque<>();
    private volatile String errorMessage;
    private volatile boolean done;
    private int stepsPerEpoch;

    public WorkerProcess(long jobId, ProcessBuilder builder, Sink sink) throws IOException {
        this.jobId = jobId;
        this.sink = sink;
        this.process = builder.start();
        this.stdout = Thread.ofPlatform().name("worker-" + jobId + "-events").daemon().start(this::readEvents);
        this.stderr = Thread.ofPlatform().name("worker-" + jobId + "-log").daemon().start(this::readLog);
    }

    public long pid() {
        return process.pid();
    }

    /** When the process started, as the operating system tells ("?" where it does not). */
    public String startInstant() {
        return process.info().startInstant().map(java.time.Instant::toString).orElse("?");
    }

    public boolean alive() {
        return process.isAlive();
    }

    /** Whether the engine reported {@code done}. */
    public boolean done() {
        return done;
    }

    /** The engine's error message, if it printed one. */
    public String errorMessage() {
        return errorMessage;
    }

    /** The last lines the worker wrote to stderr. */
    public synchronized String lastErrors() {
        return String.join("\n", lastErrors);
    }

    /** Waits for the process and for its output to be read; returns the exit code. */
    public int await() throws InterruptedException {
        int code = process.waitFor();
        stdout.join(10_000);
        stderr.join(10_000);
        return code;
    }

    /** Asks the worker to stop (SIGTERM), then kills it if it is still there after the grace period. */
    public void stop(long graceMillis) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(graceMillis, TimeUnit.MILLISECONDS)) {
            LOG.warn("worker of job {} did not stop within {} ms; killing it", jobId, graceMillis);
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
    }

    private void readEvents() {
        List<MetricStore.StepPoint> steps = new ArrayList<>();
        long lastFlush = System.nanoTime();
        try (BufferedReader r = reader(process.getInputStream())) {
            String line;
            while ((line = r.readLine()) != null) {
                JsonNode e;
                try {
                    e = JSON.readTree(line);
                } catch (IOException notJson) {
                    sink.log(line + "\n");
                    continue;
                }
                if (e == null || !e.has("event")) {
                    sink.log(line + "\n");
                    continue;
                }
                try {
                    switch (e.get("event").asText()) {
                        case "start" -> {
                            stepsPerEpoch = e.path("steps_per_epoch").asInt();
                            sink.progress(e);
                        }
                        case "step" -> {
                            int epoch = e.path("epoch").asInt();
                            int step = e.path("step").asInt();
                            steps.add(new MetricStore.StepPoint(epoch, step, (long) (epoch - 1) * stepsPerEpoch + step,
                                    number(e, "loss")));
                            if (steps.size() >= FLUSH_POINTS || System.nanoTime() - lastFlush > FLUSH_NANOS) {
                                List<MetricStore.StepPoint> batch = steps;
                                steps = new ArrayList<>();
                                lastFlush = System.nanoTime();
                                sink.points(batch, List.of());
                            }
                            sink.progress(e);
                        }
                        case "epoch" -> {
                            List<MetricStore.StepPoint> batch = steps;
                            steps = new ArrayList<>();
                            lastFlush = System.nanoTime();
                            // An epoch's figures are stored before its checkpoint is announced.
                            sink.points(batch, List.of(epochPoint(e)));
                            sink.progress(e);
                        }
                        case "checkpoint" -> sink.checkpoint(e.path("epoch").asInt());
                        case "done" -> {
                            List<MetricStore.StepPoint> batch = steps;
                            steps = new ArrayList<>();
                            sink.points(batch, List.of());
                            done = true;
                            sink.progress(e);
                        }
                        case "error" -> errorMessage = e.path("message").asText();
                        default -> sink.log(line + "\n");
                    }
                } catch (RuntimeException storeFailed) {
                    // Keep reading: a stalled reader would block the worker on a full pipe. The events file in
                    // the job's folder still holds what could not be stored.
                    LOG.warn("job {}: cannot store event {}: {}", jobId, line, storeFailed.toString());
                }
            }
        } catch (IOException e) {
            LOG.debug("worker {} stdout closed: {}", jobId, e.getMessage());
        } finally {
            if (!steps.isEmpty()) {
                sink.points(steps, List.of());
            }
        }
    }

    private void readLog() {
        StringBuilder buffer = new StringBuilder();
        long lastFlush = System.nanoTime();
        try (BufferedReader r = reader(process.getErrorStream())) {
            String line;
            while ((line = r.readLine()) != null) {
                buffer.append(line).append('\n');
                synchronized (this) {
                    lastErrors.addLast(line);
                    if (lastErrors.size() > 20) {
                        lastErrors.removeFirst();
                    }
                }
                if (buffer.length() > 8192 || System.nanoTime() - lastFlush > FLUSH_NANOS) {
                    sink.log(buffer.toString());
                    buffer.setLength(0);
                    lastFlush = System.nanoTime();
                }
            }
        } catch (IOException e) {
            LOG.debug("worker {} stderr closed: {}", jobId, e.getMessage());
        } finally {
            if (!buffer.isEmpty()) {
                sink.log(buffer.toString());
            }
        }
    }

    /** The stored form of an {@code epoch} event. */
    static MetricStore.EpochPoint epochPoint(JsonNode e) {
        return new MetricStore.EpochPoint(e.path("epoch").asInt(), nullable(e, "train_loss"), nullable(e, "train_acc"),
                nullable(e, "val_loss"), nullable(e, "val_acc"), nullable(e, "samples_per_s"), nullable(e, "seconds"),
                nullable(e, "lr"));
    }

    private static BufferedReader reader(InputStream in) {
        return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    }

    private static double number(JsonNode e, String field) {
        return e.path(field).isNumber() ? e.get(field).asDouble() : Double.NaN;
    }

    private static Double nullable(JsonNode e, String field) {
        return e.path(field).isNumber() ? e.get(field).asDouble() : null;
    }

    static ObjectNode object() {
        return JSON.createObjectNode();
    }
}
