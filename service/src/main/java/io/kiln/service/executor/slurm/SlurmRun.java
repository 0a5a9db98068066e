package io.kiln.service.executor.slurm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kiln.service.executor.EngineOutput;
import io.kiln.service.executor.KnownPoints;
import io.kiln.service.executor.Outcome;
import io.kiln.service.executor.Run;
import io.kiln.service.executor.RunListener;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run as a SLURM batch job, followed through the files it writes in the job's folder on the shared file system
 * and the state SLURM gives it. Its events are read from the job's events file ({@code events.jsonl}, which the
 * engine appends every run's events to and flushes line by line) from where this run's begin; its log from the batch
 * job's standard error ({@code slurm-JOBID.err}, where SLURM also writes why it stopped a job); its standard output
 * ({@code slurm-JOBID.out}, the same events) only for an error the engine met before it opened the events file. Only
 * the monitor's thread calls its methods (but {@link #stopRequested}), so the listener hears from one thread.
 */
final class SlurmRun implements Run {
    private static final Logger LOG = LoggerFactory.getLogger(SlurmRun.class);
    /** Lines of the log kept to explain a failure the engine did not. */
    private static final int LAST_LINES = 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final long jobId;
    private final String batchJob;
    private final String placement;
    private final RunListener listener;
    private final EngineOutput events;
    private final OutputFile eventsFile;
    private final Path out;
    private final OutputFile err;
    /** Lines of the log file already in the job's log (copied before a restart of the service), to pass over. */
    private long copiedLines;
    private final Deque<String> lastLines = new ArrayDeque<>();
    private final CompletableFuture<Outcome> ended = new CompletableFuture<>();
    private volatile boolean stopRequested;
    private volatile String node;
    private String state = "";
    /** Once SLURM shows the job ended: how, and since when this server waits for its last output. */
    private Outcome ending;
    private Instant endingSince;

    /**
     * Follows batch job {@code batchJob}, whose events begin at byte {@code eventsFrom} of {@code eventsPath} and
     * whose first {@code copiedLines} log lines are in the job's log already; of its metric points, those
     * {@code stored} knows are not handed on again.
     */
    SlurmRun(long jobId, String batchJob, String placement, Path jobDir, Path eventsPath, long eventsFrom,
             long copiedLines, RunListener listener, KnownPoints stored) {
        this.jobId = jobId;
        this.batchJob = batchJob;
        this.placement = placement;
        this.listener = listener;
        this.events = new EngineOutput(jobId, listener, stored);
        this.eventsFile = new OutputFile(eventsPath, eventsFrom);
        this.out = jobDir.resolve("slurm-" + batchJob + ".out");
        this.err = new OutputFile(logFile(jobDir, batchJob), 0);
        this.copiedLines = copiedLines;
    }

    @Override
    public long jobId() {
        return jobId;
    }

    @Override
    public String placement() {
        return placement;
    }

    /** The worker runs on a node of the cluster, not here. */
    @Override
    public Optional<Long> processId() {
        return Optional.empty();
    }

    String batchJob() {
        return batchJob;
    }

    /** The node it runs on, once it runs. */
    Optional<String> node() {
        return Optional.ofNullable(node);
    }

    CompletableFuture<Outcome> ended() {
        return ended;
    }

    void stopRequested() {
        stopRequested = true;
    }

    boolean wasStopRequested() {
        return stopRequested;
    }

    boolean ending() {
        return ending != null;
    }

    /** Whether the engine has reported done, in what was read so far. */
    boolean engineDone() {
        return events.done();
    }

    /** Hands what the job wrote since the last call to the listener. */
    void read() {
        try {
            for (String line : eventsFile.newLines()) {
                events.line(line);
            }
            StringBuilder log = new StringBuilder();
            for (String line : err.newLines()) {
                if (copiedLines > 0) {
                    copiedLines--;
                    continue;
                }
                log.append(line).append('\n');
                lastLines.addLast(line);
                if (lastLines.size() > LAST_LINES) {
                    lastLines.removeFirst();
                }
            }
            if (!log.isEmpty()) {
                listener.log(log.toString());
            }
        } catch (IOException e) {
            LOG.warn("job {}: cannot read the output of batch job {}: {}", jobId, batchJob, e.toString());
        }
    }

    /**
     * SLURM's view of the job now: a change of state reaches the listener (waiting with SLURM's reason, running on
     * a node); an ended job's outcome is noted, and the run ends once its output is read.
     */
    void observe(Slurm.BatchJob b, BatchState meaning) {
        String now = b.state() + " " + b.reason();
        boolean changed = !now.equals(state);
        state = now;
        switch (meaning) {
            case WAITING -> {
                // Requeued by SLURM, a run that ran waits again: its next start is a start.
                node = null;
                if (changed) {
                    listener.waiting(waitingReason(b));
                }
            }
            case RUNNING -> {
                if (node == null || !node.equals(b.nodes())) {
                    node = b.nodes();
                    listener.running("slurm:" + b.nodes(), b.started() != null ? b.started() : Instant.now());
                }
                if (changed && !b.state().equals("RUNNING") && !b.state().equals("COMPLETING")) {
                    listener.log("kiln: SLURM shows batch job " + batchJob + " as " + b.state() + "\n");
                }
            }
            default -> {
            }
        }
    }

    /** SLURM's reason for a pending job (Resources, Priority, ...), the state too for a job held or requeued. */
    static String waitingReason(Slurm.BatchJob b) {
        String reason = b.reason().equals("None") ? "not yet scheduled" : b.reason();
        return b.state().equals("PENDING") ? reason : b.state() + " (" + reason + ")";
    }

    /** The job ended as {@code outcome} says; the run ends once its last output has been read (see {@link #tryEnd}). */
    void endAs(Outcome outcome, Instant now) {
        if (ending == null) {
            ending = outcome;
            endingSince = now;
        }
    }

    /**
     * Ends the run if its output is all there: the engine's last word (done, or its error) has been read, SLURM
     * ended it for a reason of its own, or {@code wait} has passed since SLURM showed it ended (a shared file
     * system may show the last lines late). Returns whether it ended.
     */
    boolean tryEnd(Instant now, java.time.Duration wait) {
        if (ending == null) {
            return false;
        }
        read();
        boolean lastWord = events.done() || events.errorMessage() != null;
        if (!lastWord && ending.ending() == Outcome.Ending.EXITED && now.isBefore(endingSince.plus(wait))) {
            return false;
        }
        String restLog = err.rest();
        if (!restLog.isBlank()) {
            listener.log(restLog + "\n");
        }
        // A line cut short by a kill is not an event: it is left out, as ResumePlanner leaves it out.
        events.close();
        String error = events.errorMessage() != null ? events.errorMessage() : earlyError();
        ended.complete(new Outcome(ending.exitCode(), events.done(), error, String.join("\n", lastLines),
                ending.ending(), ending.reason()));
        return true;
    }

    /** The engine's error event on standard output, for an error met before it opened the events file (a bad spec). */
    private String earlyError() {
        if (!Files.isRegularFile(out)) {
            return null;
        }
        String message = null;
        try (Stream<String> lines = Files.lines(out)) {
            for (String line : (Iterable<String>) lines::iterator) {
                try {
                    JsonNode e = JSON.readTree(line);
                    if (e != null && e.path("event").asText().equals("error")) {
                        message = e.path("message").asText();
                    }
                } catch (IOException notAnEvent) {
                    // log text
                }
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.debug("job {}: cannot read {}: {}", jobId, out, e.toString());
        }
        return message;
    }

    /** The batch job's standard error: the engine's log, and SLURM's word when it stops the job. */
    static Path logFile(Path jobDir, String batchJob) {
        return jobDir.resolve("slurm-" + batchJob + ".err");
    }
}
