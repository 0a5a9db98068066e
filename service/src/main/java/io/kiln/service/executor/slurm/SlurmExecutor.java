package io.kiln.service.executor.slurm;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.nn.MemoryEstimate;
import io.kiln.engine.spec.CaptioningOptions;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecParser;
import io.kiln.service.config.KilnConfig;
import io.kiln.service.executor.JobExecutor;
import io.kiln.service.executor.KnownPoints;
import io.kiln.service.executor.Launch;
import io.kiln.service.executor.Outcome;
import io.kiln.service.executor.Placement;
import io.kiln.service.executor.Run;
import io.kiln.service.executor.RunListener;
import io.kiln.service.executor.RunTraits;
import io.kiln.service.executor.WorkerJvm;
import io.kiln.service.jobs.DatasetFacts;
import io.kiln.service.jobs.JobLog;
import io.kiln.service.config.KilnPaths;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.MetricStore;
import io.micronaut.context.annotation.Requires;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code kiln.executor: slurm}: each run is one SLURM batch job in the configured partition. SLURM places it, shares
 * the GPUs, orders the jobs (priority as {@code --nice}, fair share, QOS) and enforces their limits; Kiln follows
 * each job through the files it writes in the job's folder on the shared KILN_HOME and through SLURM's state of it
 * ({@link SlurmMonitor}). A job is submitted held and released only once its batch job id is stored, and named
 * {@code PREFIX-ID}, so that a restarted service finds every batch job it submitted and never submits one twice.
 * Batch jobs go on while the service is down.
 */
@Singleton
@Requires(property = "kiln.executor", value = "slurm")
public class SlurmExecutor implements JobExecutor {
    private static final Logger LOG = LoggerFactory.getLogger(SlurmExecutor.class);
    static final String SUBMITTED = "kiln: submitted to SLURM as batch job ";
    static final String TAKING_BACK = "kiln: taking back SLURM batch job ";
    /** Submissions per scheduler tick: each is a few SLURM calls, and a tick should stay well under a second. */
    static final int SUBMITS_PER_TICK = 8;
    /** How long the partition's nodes, as sinfo shows them, are taken as they are for GET /devices. */
    private static final Duration NODES_SHOWN_FRESH = Duration.ofSeconds(1);
    /** The same for whether the partition has GPUs at all, which changes with the cluster's configuration only. */
    private static final Duration GPUS_FRESH = Duration.ofMinutes(1);

    private final KilnConfig config;
    private final SlurmSettings settings;
    private final Slurm slurm;
    private final KilnPaths paths;
    private final MetricStore metrics;
    private final DatasetFacts datasets;
    private final JobLog log;
    private final SlurmMonitor monitor;
    private final String partition;
    private volatile List<Slurm.Node> nodes = List.of();
    private volatile Instant nodesAt = Instant.EPOCH;

    public SlurmExecutor(KilnConfig config, SlurmSettings settings, Slurm slurm, KilnPaths paths, MetricStore metrics,
                         DatasetFacts datasets, JobLog log) {
        this.config = config;
        this.settings = settings;
        this.slurm = slurm;
        this.paths = paths;
        this.metrics = metrics;
        this.datasets = datasets;
        this.log = log;
        String p = SlurmSettings.orNull(settings.partition());
        if (p == null) {
            try {
                p = slurm.defaultPartition();
            } catch (IOException e) {
                throw new IllegalStateException("kiln.executor is slurm but SLURM cannot be asked for its default "
                        + "partition (set kiln.slurm.partition, and check that sinfo works here): " + e.getMessage(), e);
            }
        }
        this.partition = p;
        this.monitor = new SlurmMonitor(slurm, settings, this::outcome);
        monitor.start();
        LOG.info("jobs run as SLURM batch jobs in partition {}", partition);
    }

    /** As many jobs as may still be submitted (a few per tick), while SLURM answers. */
    @Override
    public List<Placement> vacancies() {
        if (!monitor.reachable()) {
            return List.of();
        }
        int free = Math.min(SUBMITS_PER_TICK, settings.maxSubmitted() - monitor.runs().size());
        Placement p = new Placement("slurm:" + partition, partitionHasGpus(), Set.of("auto", "cpu", "cuda"), true);
        return Collections.nCopies(Math.max(0, free), p);
    }

    /**
     * The batch job of an earlier start, taken back whatever its state: the one the store names (an ended one too:
     * its end has not been handled yet), else a live one named for the job (submitted by a server that could not
     * note it, or whose job was taken over from it).
     */
    @Override
    public Optional<Run> recover(JobRow job, RunListener listener) {
        try {
            String id = job.batchJob();
            if (id == null) {
                String name = BatchRequest.jobName(settings, job.id());
                List<Slurm.BatchJob> live = slurm.named(name).stream().filter(b -> !BatchState.of(b.state()).ended())
                        .sorted(Comparator.comparingLong((Slurm.BatchJob b) -> Long.parseLong(b.id())).reversed())
                        .toList();
                if (live.isEmpty()) {
                    return Optional.empty();
                }
                id = live.get(0).id();
                for (Slurm.BatchJob extra : live.subList(1, live.size())) {
                    LOG.warn("job {}: cancelling batch job {}, a second one named {}", job.id(), extra.id(), name);
                    slurm.cancel(extra.id());
                }
                listener.submitted(id);
            }
            Optional<Slurm.BatchJob> now = Optional.ofNullable(slurm.jobs(List.of(id)).get(id));
            eventsFrom(job.id(), id);
            if (now.isPresent() && now.get().reason().equals("JobHeldUser")) {
                // Submitted held by a service that went down before it released the job.
                slurm.release(id);
            }
            long copied = copiedLogLines(job.id(), id);
            listener.log(TAKING_BACK + id + now.map(b -> " (" + b.state() + ")").orElse("") + "\n");
            return Optional.of(follow(job.id(), id, copied, listener));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot ask SLURM for the batch job of job " + job.id() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Run start(Launch launch, RunListener listener) throws IOException {
        long id = launch.job().id();
        boolean gpu = wantsGpu(launch.job().requestedDevice());
        BatchRequest request = BatchRequest.of(launch, settings, config.workerHeap(), config.maxJobDuration(), gpu,
                gpu ? 0 : trainingBytes(launch.job()));
        Path script = launch.jobDir().resolve(BatchRequest.SCRIPT_FILE);
        Files.writeString(script, request.script(launch, java(), classPath(), WorkerJvm.ENGINE_MAIN));
        String batchJob = slurm.submit(request.options(settings, launch.jobDir()), script);
        try {
            // Held, the batch job cannot have written anything: its events begin where the events file ends now.
            eventsFrom(id, batchJob);
            listener.submitted(batchJob);
        } catch (IOException | RuntimeException e) {
            slurm.cancel(batchJob);
            throw e;
        }
        listener.log(SUBMITTED + batchJob + " (" + request.describe() + ")\n");
        try {
            slurm.release(batchJob);
        } catch (IOException e) {
            slurm.cancel(batchJob);
            throw e;
        }
        return follow(id, batchJob, 0, listener);
    }

    private SlurmRun follow(long jobId, String batchJob, long copiedLogLines, RunListener listener) throws IOException {
        KnownPoints stored = new KnownPoints(metrics.steps(jobId), metrics.epochs(jobId));
        SlurmRun run = new SlurmRun(jobId, batchJob, "slurm:" + partition, paths.jobDir(jobId), paths.events(jobId),
                eventsFrom(jobId, batchJob), copiedLogLines, listener, stored);
        monitor.add(run);
        return run;
    }

    /**
     * How many lines of the batch job's log file the job's log holds: those after the first line that names the
     * batch job, but Kiln's own ({@code kiln: ...}). Counted in the store, not noted beside the file, because a store
     * may lose its last writes when the service is killed (H2 writes its commits to disk within a second), and then
     * the lines it lost are copied again.
     */
    private long copiedLogLines(long jobId, String batchJob) {
        java.util.regex.Pattern marker = java.util.regex.Pattern.compile("^(" + java.util.regex.Pattern.quote(SUBMITTED)
                + "|" + java.util.regex.Pattern.quote(TAKING_BACK) + ")" + batchJob + "( .*)?$");
        boolean after = false;
        long n = 0;
        for (String line : log.text(jobId).split("\n", -1)) {
            if (!after) {
                after = marker.matcher(line).matches();
            } else if (!line.startsWith("kiln:")) {
                n++;
            }
        }
        // split leaves an empty string after the last newline
        return Math.max(0, n - 1);
    }

    /**
     * Where batch job {@code batchJob}'s events begin in the job's events file: noted in the job's folder when the
     * job is submitted, before it is released. A batch job without the note was never released (the service went
     * down first), so its events begin where the file ends now; the note is made then.
     */
    private long eventsFrom(long jobId, String batchJob) throws IOException {
        Path note = paths.jobDir(jobId).resolve("slurm-" + batchJob + ".events-from");
        if (Files.isRegularFile(note)) {
            try {
                return Long.parseLong(Files.readString(note).strip());
            } catch (NumberFormatException e) {
                throw new IOException(note + " does not hold a byte offset: " + e.getMessage(), e);
            }
        }
        Path events = paths.events(jobId);
        long from = Files.isRegularFile(events) ? Files.size(events) : 0;
        Files.writeString(note, Long.toString(from));
        return from;
    }

    @Override
    public java.util.concurrent.CompletableFuture<Outcome> follow(Run run) {
        return ((SlurmRun) run).ended();
    }

    /** scancel: SLURM sends SIGTERM, and SIGKILL after its KillWait (kiln.cancel-grace does not apply). */
    @Override
    public void stop(Run run, String why) {
        SlurmRun r = (SlurmRun) run;
        r.stopRequested();
        LOG.info("job {}: cancelling batch job {}: {}", r.jobId(), r.batchJob(), why);
        try {
            slurm.cancel(r.batchJob());
        } catch (IOException e) {
            LOG.warn("job {}: scancel {} failed: {}", r.jobId(), r.batchJob(), e.getMessage());
        }
        monitor.pollSoon();
    }

    /** kiln.max-job-duration is the batch job's --time. */
    @Override
    public RunTraits traits() {
        return RunTraits.BATCH_JOBS;
    }

    @Override
    public Optional<String> refusal(String requestedDevice) {
        if (requestedDevice.startsWith("cuda:")) {
            return Optional.of(requestedDevice + ": under SLURM, SLURM chooses the GPU; ask for \"cuda\"");
        }
        if (requestedDevice.equals("cuda") && !partitionHasGpus() && !nodes(GPUS_FRESH).isEmpty()) {
            return Optional.of("\"cuda\" requested but SLURM partition " + partition + " has no GPU (no gpu GRES on its "
                    + "nodes); use \"auto\" or \"cpu\"");
        }
        return Optional.empty();
    }

    /** The partition's nodes: CPUs, memory and GPUs, each total and allocated, and the Kiln jobs running there. */
    @Override
    public ArrayNode devices() {
        ArrayNode out = JsonNodeFactory.instance.arrayNode();
        for (Slurm.Node n : nodes(NODES_SHOWN_FRESH)) {
            ObjectNode d = out.addObject();
            d.put("name", n.name());
            d.put("kind", "node");
            d.put("partition", partition);
            d.put("state", n.state());
            d.put("cpus", n.cpus());
            d.put("cpusAllocated", n.cpusAllocated());
            d.put("memoryTotalBytes", n.memoryMiB() << 20);
            d.put("memoryUsedBytes", n.memoryAllocatedMiB() << 20);
            d.put("gpus", Gres.gpus(n.gres()));
            d.put("gpusAllocated", Gres.gpus(n.gresUsed()));
            d.put("gres", n.gres());
            ArrayNode jobs = d.putArray("jobs");
            monitor.runs().stream().filter(r -> r.node().filter(n.name()::equals).isPresent())
                    .map(r -> Long.toString(r.jobId())).sorted().forEach(jobs::add);
        }
        return out;
    }

    /** How a batch job ended, in Kiln's terms and words. */
    private Outcome outcome(SlurmMonitor.Ended e) {
        SlurmRun r = e.run();
        String job = "batch job " + r.batchJob();
        BatchState meaning = e.meaning();
        if (meaning == BatchState.WAITING) {
            String reason = e.end().map(Slurm.BatchEnd::reason).orElse("?");
            return new Outcome(-1, false, null, "", Outcome.Ending.STOPPED_BY_SYSTEM, "SLURM cannot place " + job
                    + " in partition " + partition + ": " + reason + " (what it asks for, in the job's log: --mem, "
                    + "--cpus-per-task, --gres, --time, is more than the partition's nodes or limits allow), so it was "
                    + "cancelled rather than left waiting; lower training.batchSize or use a smaller model, or change "
                    + "kiln.slurm's partition or requests");
        }
        if (meaning == null) {
            // SLURM no longer shows it: the accounting database, else the job's output, says how it ended.
            if (e.end().isPresent()) {
                meaning = BatchState.of(e.end().get().state());
            } else if (r.engineDone()) {
                return new Outcome(0, true, null, "", Outcome.Ending.EXITED, null);
            } else {
                return new Outcome(-1, false, null, "", Outcome.Ending.STOPPED_BY_SYSTEM, "SLURM no longer knows " + job
                        + " (it ended longer ago than SLURM keeps ended jobs, and there is no accounting database) and "
                        + "its output ends before the engine's last word");
            }
        }
        if (meaning == BatchState.WAITING || meaning == BatchState.RUNNING) {
            meaning = BatchState.STOPPED; // the accounting database's view of a job the controller lost
        }
        Slurm.BatchEnd end = e.end().orElse(new Slurm.BatchEnd("UNKNOWN", "None", 0, 0));
        int exit = end.signal() > 0 ? 128 + end.signal() : end.exitCode();
        String state = end.state().split("[ +]", 2)[0];
        String reason = switch (meaning) {
            case CANCELLED -> r.wasStopRequested() ? null
                    : "cancelled in SLURM (scancel " + r.batchJob() + "), not through Kiln";
            case LOST -> "SLURM lost " + job + " (" + state + (end.reason().equals("None") ? "" : ", " + end.reason())
                    + ")";
            case STOPPED -> switch (state) {
                case "TIMEOUT" -> "SLURM stopped " + job + " at its time limit (--time=" + minutes(config.maxJobDuration())
                        + " minutes, from kiln.max-job-duration " + config.maxJobDuration() + ")";
                case "OUT_OF_MEMORY" -> "SLURM stopped " + job + ": it used more memory than its --mem (kiln.worker-heap "
                        + config.workerHeap() + " plus kiln.slurm.memory-overhead " + settings.memoryOverhead() + ")";
                case "DEADLINE" -> "SLURM stopped " + job + " at its deadline";
                default -> "SLURM ended " + job + " as " + state + (end.reason().equals("None") ? "" : " (" + end.reason()
                        + ")");
            };
            default -> null;
        };
        return new Outcome(exit, false, null, "", meaning.ending(r.wasStopRequested()), reason);
    }

    private static long minutes(Duration d) {
        return d == null ? 0 : Math.max(1, (d.toSeconds() + 59) / 60);
    }

    /** A CUDA job, or one that leaves the choice to Kiln where the partition has GPUs. */
    private boolean wantsGpu(String requestedDevice) {
        return requestedDevice.startsWith("cuda") || requestedDevice.equals("auto") && partitionHasGpus();
    }

    private boolean partitionHasGpus() {
        return nodes(GPUS_FRESH).stream().anyMatch(n -> Gres.gpus(n.gres()) > 0);
    }

    /** The partition's nodes as sinfo showed them at most {@code maxAge} ago. */
    private List<Slurm.Node> nodes(Duration maxAge) {
        Instant now = Instant.now();
        if (Duration.between(nodesAt, now).compareTo(maxAge) > 0) {
            try {
                nodes = slurm.nodes(partition);
            } catch (IOException e) {
                LOG.warn("cannot ask SLURM for the nodes of partition {}: {}", partition, e.getMessage());
            }
            nodesAt = now;
        }
        return nodes;
    }

    /**
     * The tensors' share of a CPU job's heap by the engine's estimate (its {@link MemoryEstimate#cpuHeapBytes}
     * without the dataset and the engine's own share, which kiln.worker-heap holds); 0 for a captioning job, which
     * has no layer plan, or when it cannot be estimated.
     */
    private long trainingBytes(JobRow job) {
        try {
            JobSpec spec = SpecParser.parse(job.spec());
            if (CaptioningOptions.PRESET.equals(spec.model().preset())) {
                return 0;
            }
            DatasetFacts.Facts data = datasets.of(spec.data());
            return MemoryEstimate.of(spec, data.sampleShape(), data.classes()).cpuHeapBytes(0)
                    - MemoryEstimate.WORKER_BASE_BYTES;
        } catch (RuntimeException e) {
            LOG.warn("job {}: no memory estimate ({}); --mem is the worker heap and overhead", job.id(), e.toString());
            return 0;
        }
    }

    private String java() {
        String j = SlurmSettings.orNull(settings.java());
        return j != null ? j : WorkerJvm.java();
    }

    /** kiln.slurm.class-path, else this JVM's. */
    private String classPath() {
        String cp = SlurmSettings.orNull(settings.classPath());
        return cp != null ? cp : WorkerJvm.classPath();
    }

    /** The batch jobs go on; the restarted service takes them back. */
    @PreDestroy
    void close() {
        monitor.close();
    }

    /** For operators and tests: the batch jobs followed now. */
    List<String> followed() {
        return new ArrayList<>(monitor.runs().stream().map(SlurmRun::batchJob).toList());
    }
}
