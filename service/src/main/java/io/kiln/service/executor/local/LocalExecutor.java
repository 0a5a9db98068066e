package io.kiln.service.executor.local;

import com.fasterxml.jackson.databind.node.ArrayNode;
import io.kiln.service.config.KilnConfig;
import io.kiln.service.config.KilnPaths;
import io.kiln.service.devices.DeviceInventory;
import io.kiln.service.executor.JobExecutor;
import io.kiln.service.executor.Launch;
import io.kiln.service.executor.Outcome;
import io.kiln.service.executor.Placement;
import io.kiln.service.executor.Run;
import io.kiln.service.executor.RunListener;
import io.kiln.service.executor.RunTraits;
import io.kiln.service.executor.WorkerJvm;
import io.kiln.service.jobs.JobLog;
import io.kiln.service.store.JobRow;
import io.micronaut.context.annotation.Requires;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code kiln.executor: local}: each run is a worker process (a child JVM running the engine's {@code train})
 * on one of this server's slots, one run per slot. Its output is read as it comes; when the service stops, it
 * stops its workers, and a worker that outlived a crashed service is stopped before its job runs again.
 */
@Singleton
@Requires(property = "kiln.executor", value = "local", defaultValue = "local")
public class LocalExecutor implements JobExecutor {
    private static final Logger LOG = LoggerFactory.getLogger(LocalExecutor.class);
    /** The engine's entry point in the worker JVM. */
    static final String ENGINE_MAIN = WorkerJvm.ENGINE_MAIN;

    private final KilnConfig config;
    private final KilnPaths paths;
    private final DeviceInventory devices;
    private final JobLog log;

    /** A worker on a slot; {@code ended} completes when the worker has exited and its output is read. */
    record LocalRun(long jobId, DeviceInventory.Slot slot, WorkerProcess worker, CompletableFuture<Outcome> ended)
            implements Run {
        @Override
        public String placement() {
            return slot.name();
        }

        @Override
        public Optional<Long> processId() {
            return Optional.of(worker.pid());
        }
    }

    public LocalExecutor(KilnConfig config, KilnPaths paths, DeviceInventory devices, JobLog log) {
        this.config = config;
        this.paths = paths;
        this.devices = devices;
        this.log = log;
    }

    @Override
    public List<Placement> vacancies() {
        return devices.slots().stream().filter(s -> devices.free(s.name()))
                .map(s -> new Placement(s.name(), s.gpu(), devices.requestsFor(s))).toList();
    }

    /** A local worker cannot be taken back (its pipes went with its server): it is stopped. */
    @Override
    public Optional<Run> recover(JobRow job, RunListener listener) {
        LeftoverWorkers.stop(job.id(), paths.jobDir(job.id()), config.cancelGrace(), text -> log.append(job.id(), text));
        return Optional.empty();
    }

    @Override
    public Run start(Launch launch, RunListener listener) throws IOException {
        long id = launch.job().id();
        DeviceInventory.Slot slot = devices.slots().stream().filter(s -> s.name().equals(launch.placement().name()))
                .findFirst().orElseThrow(() -> new IllegalArgumentException("no slot " + launch.placement().name()));
        List<String> cmd = new ArrayList<>(List.of(WorkerJvm.java(), "-Xmx" + config.workerHeap()));
        cmd.addAll(WorkerJvm.OPTIONS);
        cmd.addAll(List.of("-cp", WorkerJvm.classPath(), ENGINE_MAIN));
        // The worker sees only its own GPU, as device 0.
        cmd.addAll(launch.trainArguments(slot.gpu() ? "cuda:0" : "cpu"));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(launch.jobDir().toFile());
        if (slot.visibleDevices() != null) {
            pb.environment().put("CUDA_VISIBLE_DEVICES", slot.visibleDevices());
        }
        devices.occupy(slot.name(), id);
        WorkerProcess worker;
        try {
            worker = new WorkerProcess(id, pb, listener);
        } catch (IOException | RuntimeException e) {
            devices.release(slot.name());
            throw e;
        }
        LocalRun run = new LocalRun(id, slot, worker, new CompletableFuture<>());
        Thread.ofPlatform().name("worker-" + id + "-wait").daemon().start(() -> await(run));
        try {
            LeftoverWorkers.note(launch.jobDir(), worker);
        } catch (IOException e) {
            // A worker that a crash could orphan without trace must not run.
            stop(run, "its process id cannot be noted");
            throw e;
        }
        return run;
    }

    private void await(LocalRun run) {
        try {
            Outcome o = run.worker().await();
            devices.release(run.slot().name());
            run.ended().complete(o);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            run.ended().completeExceptionally(e);
        }
    }

    @Override
    public CompletableFuture<Outcome> follow(Run run) {
        return ((LocalRun) run).ended();
    }

    @Override
    public void stop(Run run, String why) {
        LocalRun r = (LocalRun) run;
        if (!r.worker().alive()) {
            return;
        }
        Thread.ofPlatform().name("worker-" + r.jobId() + "-stop").daemon().start(() -> {
            try {
                LOG.info("stopping job {}: {}", r.jobId(), why);
                r.worker().stop(config.cancelGrace().toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }

    @Override
    public RunTraits traits() {
        return RunTraits.WORKER_PROCESSES;
    }

    /** A GPU request on a server without GPUs, or for a GPU it does not have. */
    @Override
    public Optional<String> refusal(String requestedDevice) {
        int gpus = devices.gpuCount();
        if (requestedDevice.startsWith("cuda") && gpus == 0) {
            return Optional.of("\"" + requestedDevice + "\" requested but this server has no GPU; use \"auto\" or \"cpu\"");
        }
        if (requestedDevice.startsWith("cuda:") && Integer.parseInt(requestedDevice.substring(5)) >= gpus) {
            return Optional.of(requestedDevice + " does not exist: this server has GPUs cuda:0 to cuda:" + (gpus - 1));
        }
        return Optional.empty();
    }

    @Override
    public ArrayNode devices() {
        return devices.describe();
    }
}
