package io.kiln.service.executor.local;

import io.kiln.service.executor.EngineOutput;
import io.kiln.service.executor.Outcome;
import io.kiln.service.executor.RunListener;
import io.kiln.service.executor.WorkerJvm;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One job's worker: a child JVM running the engine's {@code train} command. Reads its JSON lines (stdout) and
 * log (stderr) on two threads and hands them to a {@link RunListener}.
 */
final class WorkerProcess {
    private static final Logger LOG = LoggerFactory.getLogger(WorkerProcess.class);
    /** Log text is handed over per 8 KiB or every quarter second, whichever comes first. */
    private static final int FLUSH_LOG_CHARS = 8192;
    private static final long FLUSH_MILLIS = 250;
    /** Lines of stderr kept to explain a failure the engine did not. */
    private static final int LAST_LINES = 20;
    /** How long the readers may take to finish after the process exited (its pipes are closed by then). */
    private static final long READER_JOIN_MILLIS = 10_000;

    private final long jobId;
    private final Process process;
    private final RunListener listener;
    private final EngineOutput output;
    private final Thread stdout;
    private final Thread stderr;
    private final Deque<String> lastErrors = new ArrayDeque<>();
    /** Log lines read but not yet handed over, and whether stderr has ended (both guarded by this). */
    private final StringBuilder logBuffer = new StringBuilder();
    private boolean logEnded;

    WorkerProcess(long jobId, ProcessBuilder builder, RunListener listener) throws IOException {
        this.jobId = jobId;
        this.listener = listener;
        this.output = new EngineOutput(jobId, listener);
        this.process = builder.start();
        this.stdout = Thread.ofPlatform().name("worker-" + jobId + "-events").daemon().start(this::readEvents);
        this.stderr = Thread.ofPlatform().name("worker-" + jobId + "-log").daemon().start(this::readLog);
    }

    long pid() {
        return process.pid();
    }

    /** When the process started, as the operating system tells ("?" where it does not). */
    String startInstant() {
        return process.info().startInstant().map(Instant::toString).orElse("?");
    }

    boolean alive() {
        return process.isAlive();
    }

    /** Waits for the process and for its output to be read; returns how it ended. */
    Outcome await() throws InterruptedException {
        int code = process.waitFor();
        stdout.join(READER_JOIN_MILLIS);
        stderr.join(READER_JOIN_MILLIS);
        return new Outcome(code, output.done(), output.errorMessage(), lastErrors());
    }

    /** Asks the worker to stop (SIGTERM), then kills it if it is still there after the grace period. */
    void stop(long graceMillis) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(graceMillis, TimeUnit.MILLISECONDS)) {
            LOG.warn("worker of job {} did not stop within {} ms; killing it", jobId, graceMillis);
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }
    }

    private synchronized void remember(String line) {
        lastErrors.addLast(line);
        if (lastErrors.size() > LAST_LINES) {
            lastErrors.removeFirst();
        }
    }

    private synchronized String lastErrors() {
        return String.join("\n", lastErrors);
    }

    private void readEvents() {
        try (BufferedReader r = reader(process.getInputStream())) {
            String line;
            while ((line = r.readLine()) != null) {
                if (!line.startsWith("{")) {
                    // Not an event: the JVM's own last words (its out-of-memory exit says so here) belong with the log's.
                    remember(line);
                }
                output.line(line);
            }
        } catch (IOException e) {
            LOG.debug("worker {} stdout closed: {}", jobId, e.getMessage());
        } finally {
            output.close();
        }
    }

    /**
     * Reads stderr line by line into a buffer that {@link #handOverLog} empties: a line waits at most
     * {@link #FLUSH_MILLIS} however long the worker is then silent (a CNN's epoch line may be its last for
     * minutes), while a burst of lines still goes over in a few pieces.
     */
    private void readLog() {
        Thread flusher = Thread.ofPlatform().name("worker-" + jobId + "-log-handover").daemon().start(this::handOverLog);
        try (BufferedReader r = reader(process.getErrorStream())) {
            String line;
            while ((line = r.readLine()) != null) {
                if (WorkerJvm.isModuleNotice(line)) {
                    continue;
                }
                synchronized (this) {
                    logBuffer.append(line).append('\n');
                    remember(line);
                    if (logBuffer.length() > FLUSH_LOG_CHARS) {
                        notifyAll();
                    }
                }
            }
        } catch (IOException e) {
            LOG.debug("worker {} stderr closed: {}", jobId, e.getMessage());
        } finally {
            synchronized (this) {
                logEnded = true;
                notifyAll();
            }
            try {
                flusher.join(READER_JOIN_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Hands the buffered log to the listener every {@link #FLUSH_MILLIS} (sooner when it is full), in order. */
    private void handOverLog() {
        while (true) {
            String text;
            boolean last;
            synchronized (this) {
                if (!logEnded && logBuffer.length() <= FLUSH_LOG_CHARS) {
                    try {
                        wait(FLUSH_MILLIS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                }
                last = logEnded;
                text = logBuffer.toString();
                logBuffer.setLength(0);
            }
            // outside the lock: the reader goes on reading while the listener stores
            if (!text.isEmpty()) {
                listener.log(text);
            }
            if (last) {
                return;
            }
        }
    }

    private static BufferedReader reader(InputStream in) {
        return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    }
}
