package io.kiln.service.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecParser;
import io.kiln.service.config.KilnConfig;
import io.kiln.service.devices.DeviceInventory;
import io.kiln.service.jobs.JobEvents;
import io.kiln.service.jobs.JobService;
import io.kiln.service.store.JobClaims;
import io.kiln.service.store.JobQueries;
import io.kiln.service.store.JobRepository;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.JobState;
import io.kiln.service.store.LogRepository;
import io.kiln.service.store.LogRow;
import io.kiln.service.store.MetricStore;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.event.ShutdownEvent;
import io.micronaut.runtime.event.annotation.EventListener;
import io.micronaut.runtime.server.EmbeddedServer;
import io.micronaut.runtime.server.event.ServerStartupEvent;
import io.micronaut.scheduling.annotation.Scheduled;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs queued jobs on this server's slots, each in its own worker process: orders the queue (priority, then
 * fair share between users, then submission time), claims jobs, supervises workers (cancel, time limit,
 * crashes), heartbeats the jobs it runs, requeues jobs whose server stopped heartbeating, and after a restart
 * resumes its own jobs from their last checkpoint.
 */
@Context
public class Scheduler {
    private static final Logger LOG = LoggerFactory.getLogger(Scheduler.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /**
     * The job's folder keeps its current worker's process id and start time, to find a worker that outlived its
     * server.
     */
    static final String WORKER_PID_FILE = "worker.pid";

    private final KilnConfig config;
    private final JobRepository jobs;
    private final JobClaims claims;
    private final JobQueries queries;
    private final JobService service;
    private final MetricStore metrics;
    private final LogRepository logs;
    private final DeviceInventory devices;
    private final JobEvents events;
    private final Optional<EmbeddedServer> server;
    private final Map<Long, Running> running = new ConcurrentHashMap<>();
    private volatile String serverId;
    private volatile boolean stopping;
    private volatile Instant lastHeartbeat = Instant.EPOCH;

    /** A job this server runs. */
    private record Running(JobRow job, DeviceInventory.Slot slot, WorkerProcess worker, Instant started) {
    }

    public Scheduler(KilnConfig config, JobRepository jobs, JobClaims claims, JobQueries queries, JobService service,
                     MetricStore metrics, LogRepository logs, DeviceInventory devices, JobEvents events,
                     Optional<EmbeddedServer> server) {
        this.config = config;
        this.jobs = jobs;
        this.claims = claims;
        this.queries = queries;
        this.service = service;
        this.metrics = metrics;
        this.logs = logs;
        this.devices = devices;
        this.events = events;
        this.server = server;
    }

    /** This server's name in the shared queue: kiln.server-id, else host name and HTTP port. */
    public String serverId() {
        return serverId;
    }

    /**
     * Once the HTTP server is up (its port names this server): this server's jobs marked running have no worker
     * any more after a restart, so they go back to the queue, to resume from their checkpoints.
     */
    @EventListener
    void onStartup(ServerStartupEvent e) {
        String id = config.getServerId();
        if (id == null) {
            String host;
            try {
                host = InetAddress.getLocalHost().getHostName();
            } catch (IOException ex) {
                host = "localhost";
            }
            id = host + ":" + e.getSource().getPort();
        }
        for (JobRow j : jobs.findByStateAndServerId(JobState.RUNNING.name(), id)) {
            requeueOrFail(j, "the server restarted while it ran");
        }
        serverId = id;
    }

    @Scheduled(fixedDelay = "500ms", initialDelay = "1s")
    void tick() {
        if (stopping || serverId == null) {
            return;
        }
        try {
            Instant now = Instant.now();
            if (Duration.between(lastHeartbeat, now).compareTo(config.getHeartbeatInterval()) >= 0) {
                jobs.heartbeat(serverId(), now);
                lastHeartbeat = now;
                for (JobRow stale : jobs.findStale(now.minus(config.getStaleAfter()))) {
                    if (!running.containsKey(stale.id())) {
                        requeueOrFail(stale, "its server " + stale.serverId() + " stopped heartbeating");
                    }
                }
            }
            for (JobRow j : jobs.findCancelRequested(serverId())) {
                Running r = running.get(j.id());
                if (r != null && r.worker().alive()) {
                    stopAsync(r, "cancel requested");
                }
            }
            Duration limit = config.getMaxJobDuration();
            if (limit != null) {
                for (Running r : running.values()) {
                    if (Duration.between(r.started(), now).compareTo(limit) > 0 && r.worker().alive()) {
                        appendLog(r.job().id(), "kiln: time limit of " + limit + " reached, stopping the worker\n");
                        stopAsync(r, "time limit");
                    }
                }
            }
            schedule(now);
        } catch (RuntimeException e) {
            LOG.error("scheduler tick failed", e);
        }
    }

    private void schedule(Instant now) {
        List<DeviceInventory.Slot> free = new ArrayList<>();
        for (DeviceInventory.Slot s : devices.slots()) {
            if (devices.free(s.name())) {
                free.add(s);
            }
        }
        if (free.isEmpty()) {
            return;
        }
        List<JobRow> queued = jobs.findByStateOrderBySubmittedAt(JobState.QUEUED.name());
        if (queued.isEmpty()) {
            return;
        }
        Map<String, Double> usage = queries.usage(now.minus(Duration.ofDays(1)));
        queued.sort(Comparator.comparingInt(JobRow::priority).reversed()
                .thenComparingDouble(j -> usage.getOrDefault(j.userName(), 0.0))
                .thenComparing(JobRow::submittedAt));
        for (DeviceInventory.Slot slot : free) {
            for (JobRow j : queued) {
                if (!devices.fits(j.requestedDevice(), slot)) {
                    continue;
                }
                if (jobs.countByUserNameAndState(j.userName(), JobState.RUNNING.name()) >= config.getMaxRunningPerUser()) {
                    continue;
                }
                if (claims.claim(j.id(), slot.name(), serverId(), now)) {
                    queued.remove(j);
                    start(jobs.findById(j.id()).orElseThrow(), slot);
                    break;
                }
            }
        }
    }

    private void start(JobRow job, DeviceInventory.Slot slot) {
        long id = job.id();
        devices.occupy(slot.name(), id);
        service.record(id, JobState.RUNNING, "started on " + slot.name() + " of " + serverId()
                + (job.attempts() > 1 ? " (attempt " + job.attempts() + ")" : ""));
        try {
            Path dir = service.jobDir(id);
            Files.createDirectories(dir);
            Path specFile = dir.resolve("spec.json");
            Files.writeString(specFile, job.spec());
            stopLeftoverWorker(id, dir);
            boolean resume = job.attempts() > 1 && Files.exists(service.checkpoint(id));
            // The file on disk, not the store, says where the run resumes (a crash can come between the two);
            // points after it will be reported again by the resumed run.
            int resumeAfter = resume ? Checkpoint.readEpoch(service.checkpoint(id)) : 0;
            metrics.deleteAfter(id, resumeAfter);
            if (resume) {
                recoverPoints(id, dir.resolve(io.kiln.engine.train.Trainer.EVENTS_FILE), resumeAfter);
            }
            jobs.updateCheckpointEpoch(id, resumeAfter);
            List<String> cmd = new ArrayList<>(List.of(javaBinary(), "-Xmx" + config.getWorkerHeap(),
                    "-XX:+ExitOnOutOfMemoryError", "--enable-native-access=ALL-UNNAMED",
                    "-cp", classPath(), "io.kiln.engine.cli.EngineMain", "train",
                    "--spec", specFile.toString(), "--data-root", config.getDataRoot().toString(),
                    "--device", slot.gpu() ? "cuda:0" : "cpu", "--out", dir.toString()));
            if (resume) {
                cmd.add("--resume");
            }
            JobSpec spec = SpecParser.parse(job.spec());
            if (spec.init() != null && spec.init().fromJob() != null) {
                cmd.add("--init-checkpoint");
                cmd.add(service.checkpoint(Long.parseLong(spec.init().fromJob())).toString());
            }
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
            if (slot.visibleDevices() != null) {
                pb.environment().put("CUDA_VISIBLE_DEVICES", slot.visibleDevices());
            }
            appendLog(id, "kiln: " + (resume ? "resuming after epoch " + resumeAfter : "starting") + " on "
                    + slot.name() + " of " + serverId() + "\n");
            WorkerProcess worker = new WorkerProcess(id, pb, new StoreSink(job));
            Files.writeString(dir.resolve(WORKER_PID_FILE), worker.pid() + " " + worker.startInstant());
            Running r = new Running(job, slot, worker, Instant.now());
            running.put(id, r);
            Thread.ofPlatform().name("worker-" + id + "-wait").daemon().start(() -> supervise(r));
        } catch (IOException | RuntimeException e) {
            LOG.error("cannot start job {}", id, e);
            finish(id, slot, JobState.FAILED, "cannot start the worker: " + e.getMessage(), 0);
        }
    }

    /**
     * A worker of an earlier run of this job may have outlived its server (one killed outright leaves its children
     * running): it would go on training in the job's folder, rewriting the checkpoint and the events file under
     * the new run. Stop it (gracefully, then forcibly) before anything reads that folder.
     */
    private void stopLeftoverWorker(long id, Path dir) {
        Path pidFile = dir.resolve(WORKER_PID_FILE);
        if (!Files.isRegularFile(pidFile)) {
            return;
        }
        long pid;
        String started;
        try {
            String[] recorded = Files.readString(pidFile).trim().split(" ", 2);
            pid = Long.parseLong(recorded[0]);
            started = recorded.length > 1 ? recorded[1] : "";
        } catch (IOException | NumberFormatException e) {
            return;
        }
        // The same process, not one that got its pid later: its start time must match too.
        Optional<ProcessHandle> leftover = ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
                .filter(h -> !started.equals("?") && h.info().startInstant().map(Instant::toString).orElse("").equals(started));
        if (leftover.isEmpty()) {
            return;
        }
        ProcessHandle h = leftover.get();
        LOG.warn("job {}: worker {} of an earlier run is still running; stopping it", id, pid);
        appendLog(id, "kiln: stopping worker process " + pid + " left over from an earlier run\n");
        h.destroy();
        try {
            h.onExit().get(config.getCancelGrace().toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            h.destroyForcibly();
            try {
                h.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException ex) {
                throw new IllegalStateException("worker " + pid + " of an earlier run of job " + id + " does not stop");
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
        } catch (java.util.concurrent.ExecutionException e) {
            // onExit() never completes exceptionally
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Points of epochs up to the checkpoint that the store lacks (the server went down before it read them) are
     * taken from the events file the engine appends to in the job's folder.
     */
    private void recoverPoints(long id, Path eventsFile, int upToEpoch) throws IOException {
        if (!Files.isRegularFile(eventsFile)) {
            return;
        }
        java.util.Set<Integer> haveEpochs = new java.util.HashSet<>();
        metrics.epochs(id).forEach(p -> haveEpochs.add(p.epoch()));
        java.util.Set<Long> haveSteps = new java.util.HashSet<>();
        metrics.steps(id).forEach(p -> haveSteps.add(p.globalStep()));
        Map<Long, MetricStore.StepPoint> steps = new java.util.TreeMap<>();
        Map<Integer, MetricStore.EpochPoint> epochPoints = new java.util.TreeMap<>();
        int stepsPerEpoch = 0;
        try (var lines = Files.lines(eventsFile)) {
            for (String line : (Iterable<String>) lines::iterator) {
                JsonNode e;
                try {
                    e = JSON.readTree(line);
                } catch (IOException partial) {
                    continue;
                }
                int epoch = e.path("epoch").asInt();
                switch (e.path("event").asText()) {
                    case "start" -> stepsPerEpoch = e.path("steps_per_epoch").asInt();
                    case "step" -> {
                        long global = (long) (epoch - 1) * stepsPerEpoch + e.path("step").asInt();
                        if (epoch <= upToEpoch && !haveSteps.contains(global)) {
                            steps.put(global, new MetricStore.StepPoint(epoch, e.path("step").asInt(), global,
                                    e.path("loss").asDouble(Double.NaN)));
                        }
                    }
                    case "epoch" -> {
                        if (epoch <= upToEpoch && !haveEpochs.contains(epoch)) {
                            epochPoints.put(epoch, WorkerProcess.epochPoint(e));
                        }
                    }
                    default -> { }
                }
            }
        }
        if (!steps.isEmpty() || !epochPoints.isEmpty()) {
            metrics.append(id, new ArrayList<>(steps.values()), new ArrayList<>(epochPoints.values()));
            appendLog(id, "kiln: recovered " + epochPoints.size() + " epoch and " + steps.size()
                    + " step points from " + eventsFile.getFileName() + "\n");
        }
    }

    private void supervise(Running r) {
        long id = r.job().id();
        int code;
        try {
            code = r.worker().await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        double seconds = Duration.between(r.started(), Instant.now()).toMillis() / 1000.0;
        running.remove(id);
        if (stopping) {
            // The server is going down: the job resumes from its checkpoint when a server runs it again.
            jobs.requeue(id, "the server stopped while it ran", seconds);
            devices.release(r.slot().name());
            return;
        }
        JobRow now = jobs.findById(id).orElse(r.job());
        if (now.cancelRequested()) {
            finish(id, r.slot(), JobState.CANCELLED, null, seconds);
        } else if (code == 0 && r.worker().done()) {
            finish(id, r.slot(), JobState.SUCCEEDED, null, seconds);
        } else {
            finish(id, r.slot(), JobState.FAILED, failure(r, code), seconds);
        }
    }

    /** Why a worker failed, in words: the engine's own message, else the exit code and the last lines it wrote. */
    private String failure(Running r, int code) {
        String message = r.worker().errorMessage();
        if (message != null) {
            if (message.contains("OutOfMemoryError")) {
                message += " (the worker heap is kiln.worker-heap = " + config.getWorkerHeap() + ")";
            }
            return message;
        }
        String how = code > 128 ? "was killed by signal " + (code - 128) : "exited with code " + code;
        if (code == 3 && r.worker().lastErrors().contains("OutOfMemoryError")) {
            how = "ran out of memory (kiln.worker-heap = " + config.getWorkerHeap() + ")";
        }
        String tail = r.worker().lastErrors();
        return "the worker " + how + (tail.isBlank() ? "" : "; its last output:\n" + tail);
    }

    private void finish(long id, DeviceInventory.Slot slot, JobState state, String error, double seconds) {
        jobs.finish(id, state.name(), error, Instant.now(), seconds);
        devices.release(slot.name());
        service.record(id, state, error);
        appendLog(id, "kiln: " + state.name().toLowerCase(java.util.Locale.ROOT) + (error == null ? "" : ": " + error) + "\n");
    }

    private void requeueOrFail(JobRow j, String reason) {
        if (j.attempts() >= config.getMaxAttempts()) {
            String error = reason + "; gave up after " + j.attempts() + " attempts";
            if (jobs.finish(j.id(), JobState.FAILED.name(), error, Instant.now(), 0) == 1) {
                service.record(j.id(), JobState.FAILED, error);
            }
        } else if (jobs.requeue(j.id(), reason, 0) == 1) {
            service.record(j.id(), JobState.QUEUED, "back in the queue: " + reason
                    + (j.checkpointEpoch() > 0 ? "; it resumes after epoch " + j.checkpointEpoch() : ""));
        }
    }

    private void stopAsync(Running r, String why) {
        Thread.ofPlatform().name("worker-" + r.job().id() + "-stop").daemon().start(() -> {
            try {
                LOG.info("stopping job {}: {}", r.job().id(), why);
                r.worker().stop(config.getCancelGrace().toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    @EventListener
    void onShutdown(ShutdownEvent e) {
        stopAll();
    }

    @PreDestroy
    void stopAll() {
        stopping = true;
        for (Running r : running.values()) {
            try {
                r.worker().stop(config.getCancelGrace().toMillis());
                r.worker().await();
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            jobs.requeue(r.job().id(), "the server stopped while it ran", 0);
        }
        running.clear();
    }

    /** The process id of the worker running a job here, if any (operators and tests use it). */
    public Optional<Long> workerPid(long jobId) {
        Running r = running.get(jobId);
        return r == null ? Optional.empty() : Optional.of(r.worker().pid());
    }

    /** Jobs running here, for metrics and devices. */
    public int runningCount() {
        return running.size();
    }

    private void appendLog(long id, String text) {
        logs.save(new LogRow(null, id, text));
    }

    /** This JVM's class path with absolute entries: the worker runs in the job's folder. */
    private static String classPath() {
        return java.util.Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .map(e -> Path.of(e).toAbsolutePath().toString())
                .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
    }

    private static String javaBinary() {
        return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /** Writes one worker's output into the store and tells SSE listeners. */
    private final class StoreSink implements WorkerProcess.Sink {
        private final long id;
        private final ObjectNode latest = JSON.createObjectNode();
        private int epoch;
        private int epochs;
        private int step;
        private int steps;

        StoreSink(JobRow job) {
            this.id = job.id();
            this.epochs = job.epochs();
            JsonNode previous = io.kiln.service.jobs.JobViews.full(job).get("metrics");
            if (previous != null && previous.isObject()) {
                latest.setAll((ObjectNode) previous);
            }
        }

        @Override
        public void progress(JsonNode e) {
            String type = e.path("event").asText();
            switch (type) {
                case "start" -> {
                    epochs = e.path("epochs").asInt(epochs);
                    steps = e.path("steps_per_epoch").asInt();
                    // Resumed after the last epoch, a run only evaluates: it is still at the last epoch.
                    epoch = Math.min(e.path("start_epoch").asInt(1), Math.max(epochs, 1));
                    step = 0;
                }
                case "step" -> {
                    epoch = e.path("epoch").asInt();
                    step = e.path("step").asInt();
                    steps = e.path("steps").asInt(steps);
                    copy(e, "loss");
                }
                case "epoch" -> {
                    epoch = e.path("epoch").asInt();
                    step = steps;
                    for (String f : List.of("train_loss", "train_acc", "val_loss", "val_acc", "samples_per_s", "seconds")) {
                        copy(e, f);
                    }
                }
                case "done" -> {
                    copy(e, "test_loss");
                    copy(e, "test_acc");
                }
                default -> {
                    return;
                }
            }
            jobs.updateProgress(id, epoch, epochs, step, steps, latest.toString(), Instant.now());
            ObjectNode data = JSON.createObjectNode();
            data.put("epoch", epoch);
            data.put("epochs", epochs);
            data.put("step", step);
            data.put("steps", steps);
            data.set("metrics", latest.deepCopy());
            events.publish(id, type.equals("start") ? "progress" : type, data);
        }

        private void copy(JsonNode e, String field) {
            if (e.path(field).isNumber()) {
                latest.put(field, e.get(field).asDouble());
            }
        }

        @Override
        public void points(List<MetricStore.StepPoint> stepPoints, List<MetricStore.EpochPoint> epochPoints) {
            if (!stepPoints.isEmpty() || !epochPoints.isEmpty()) {
                metrics.append(id, stepPoints, epochPoints);
            }
        }

        @Override
        public void checkpoint(int checkpointEpoch) {
            jobs.updateCheckpointEpoch(id, checkpointEpoch);
        }

        @Override
        public void log(String text) {
            appendLog(id, text);
        }
    }
}
