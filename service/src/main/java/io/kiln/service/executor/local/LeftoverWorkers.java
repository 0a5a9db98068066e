package io.kiln.service.executor.local;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Workers that outlived their server. A server killed outright leaves its children running: such a worker would
 * go on training in the job's folder, rewriting the checkpoint and the events file under the next run. The job's
 * folder keeps its current worker's process id and start time ({@value #PID_FILE}) so that the next server can
 * find it and stop it before anything reads that folder.
 */
final class LeftoverWorkers {
    private static final Logger LOG = LoggerFactory.getLogger(LeftoverWorkers.class);
    static final String PID_FILE = "worker.pid";
    /** How long a killed process may take to be gone. */
    private static final Duration KILL_WAIT = Duration.ofSeconds(10);

    private LeftoverWorkers() {
    }

    /** Notes the job's current worker in its folder. */
    static void note(Path jobDir, WorkerProcess worker) throws IOException {
        Files.writeString(jobDir.resolve(PID_FILE), worker.pid() + " " + worker.startInstant());
    }

    /**
     * Stops the worker the folder names if that very process still runs (gracefully, then forcibly), telling
     * {@code log} what it does.
     *
     * @throws IllegalStateException when it does not stop even when killed
     */
    static void stop(long jobId, Path jobDir, Duration grace, Consumer<String> log) {
        Optional<ProcessHandle> leftover = find(jobDir);
        if (leftover.isEmpty()) {
            return;
        }
        ProcessHandle h = leftover.get();
        LOG.warn("job {}: worker {} of an earlier run is still running; stopping it", jobId, h.pid());
        log.accept("kiln: stopping worker process " + h.pid() + " left over from an earlier run\n");
        h.destroy();
        if (!exits(h, grace)) {
            h.destroyForcibly();
            if (!exits(h, KILL_WAIT)) {
                throw new IllegalStateException("worker " + h.pid() + " of an earlier run of job " + jobId
                        + " does not stop");
            }
        }
    }

    /** The process the folder's pid file names, if it is alive and is the same process (not one that got its pid later). */
    static Optional<ProcessHandle> find(Path jobDir) {
        Path pidFile = jobDir.resolve(PID_FILE);
        if (!Files.isRegularFile(pidFile)) {
            return Optional.empty();
        }
        long pid;
        String started;
        try {
            String[] recorded = Files.readString(pidFile).trim().split(" ", 2);
            pid = Long.parseLong(recorded[0]);
            started = recorded.length > 1 ? recorded[1] : "";
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
        return ProcessHandle.of(pid).filter(ProcessHandle::isAlive).filter(h -> !started.equals("?")
                && h.info().startInstant().map(Instant::toString).orElse("").equals(started));
    }

    private static boolean exits(ProcessHandle h, Duration wait) {
        try {
            h.onExit().get(wait.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            return true; // onExit() never completes exceptionally
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !h.isAlive();
        }
    }
}
