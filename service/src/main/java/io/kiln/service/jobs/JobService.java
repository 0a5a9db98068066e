package io.kiln.service.jobs;

import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.spec.SpecParser;
import io.kiln.service.config.KilnConfig;
import io.kiln.service.config.KilnPaths;
import io.kiln.service.devices.DeviceInventory;
import io.kiln.service.errors.BadInput;
import io.kiln.service.errors.Conflict;
import io.kiln.service.errors.Forbidden;
import io.kiln.service.errors.LimitReached;
import io.kiln.service.errors.NotFound;
import io.kiln.service.store.JobQueries;
import io.kiln.service.store.JobRepository;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.JobState;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/** Submitting, reading and cancelling jobs: the rules, kept out of the controllers. */
@Singleton
public class JobService {
    /** The most jobs one page of the list holds. */
    public static final int MAX_PAGE_SIZE = 500;
    private final JobRepository jobs;
    private final JobQueries queries;
    private final JobHistory history;
    private final KilnConfig config;
    private final KilnPaths paths;
    private final DeviceInventory devices;
    private final MemoryCheck memory;

    public JobService(JobRepository jobs, JobQueries queries, JobHistory history, KilnConfig config, KilnPaths paths,
                      DeviceInventory devices, MemoryCheck memory) {
        this.jobs = jobs;
        this.queries = queries;
        this.history = history;
        this.config = config;
        this.paths = paths;
        this.devices = devices;
        this.memory = memory;
    }

    /**
     * Checks a spec and queues it. Only an admin may give a priority other than 0: a higher one jumps the queue
     * and fair share.
     *
     * @throws SpecException for a spec that breaks a rule (naming the field)
     * @throws Forbidden for a priority set by someone who is not an admin
     * @throws LimitReached when the user already has kiln.max-queued-per-user jobs queued
     */
    @Transactional
    public JobRow submit(String user, boolean admin, String specJson, int priority, @Nullable Long sweepId) {
        if (priority != 0 && !admin) {
            throw new Forbidden("only an admin may set a priority");
        }
        JobSpec spec = SpecParser.parse(specJson);
        check(spec);
        long queued = jobs.countByUserNameAndState(user, JobState.QUEUED.name());
        if (queued >= config.maxQueuedPerUser()) {
            throw new LimitReached("user " + user + " already has " + queued + " queued jobs, the limit is "
                    + config.maxQueuedPerUser() + "; wait for some to start");
        }
        Instant now = Instant.now();
        JobRow row = jobs.save(new JobRow(null, spec.name(), user, specJson, spec.device(), priority,
                JobState.QUEUED.name(), null, null, null, false, 0, 0, spec.training().epochs(), 0, 0, 0, null, null,
                sweepId, now, null, null, 0.0));
        history.record(row.id(), JobState.QUEUED, "submitted by " + user);
        return row;
    }

    /** Rules that need the server's view: the dataset exists, the device exists, a fine-tuning source has weights. */
    void check(JobSpec spec) {
        if (!Files.isDirectory(paths.dataset(spec.data().name()))) {
            throw new SpecException("data.name", "no dataset \"" + spec.data().name() + "\" in the data root "
                    + paths.dataRoot() + " (GET /api/v1/datasets lists them)");
        }
        if (spec.device().startsWith("cuda") && devices.gpuCount() == 0) {
            throw new SpecException("device", "\"" + spec.device() + "\" requested but this server has no GPU; use "
                    + "\"auto\" or \"cpu\"");
        }
        if (spec.device().startsWith("cuda:")) {
            int n = Integer.parseInt(spec.device().substring(5));
            if (n >= devices.gpuCount()) {
                throw new SpecException("device", spec.device() + " does not exist: this server has GPUs cuda:0 to cuda:"
                        + (devices.gpuCount() - 1));
            }
        }
        memory.check(spec);
        if (spec.init() != null && spec.init().checkpoint() != null) {
            throw new SpecException("init.checkpoint", "a file path is for the engine's command line; through the "
                    + "service, fine-tune from a job with \"fromJob\"");
        }
        if (spec.init() != null && spec.init().fromJob() != null) {
            long from;
            try {
                from = Long.parseLong(spec.init().fromJob());
            } catch (NumberFormatException e) {
                throw new SpecException("init.fromJob", "must be a job id, got \"" + spec.init().fromJob() + "\"");
            }
            if (jobs.findById(from).isEmpty()) {
                throw new SpecException("init.fromJob", "no job " + from);
            }
            if (!Files.isRegularFile(paths.checkpoint(from))) {
                throw new SpecException("init.fromJob", "job " + from + " has no checkpoint yet");
            }
        }
    }

    public JobRow get(long id) {
        return jobs.findById(id).orElseThrow(() -> new NotFound("no job " + id));
    }

    public JobQueries.Page list(@Nullable String state, @Nullable String user, int page, int size) {
        if (state != null) {
            try {
                JobState.valueOf(state);
            } catch (IllegalArgumentException e) {
                throw new BadInput("state", "must be one of QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED");
            }
        }
        if (page < 0) {
            throw new BadInput("page", "must be >= 0, got " + page);
        }
        if (size < 1 || size > MAX_PAGE_SIZE) {
            throw new BadInput("size", "must be between 1 and " + MAX_PAGE_SIZE + ", got " + size);
        }
        return queries.list(state, user, page, size);
    }

    /**
     * Cancels a job for its owner or an admin: a queued job at once, a running one once its worker has stopped
     * (the server running it sees the request at its next tick).
     */
    @Transactional
    public JobRow cancel(long id, String user, boolean admin) {
        JobRow j = get(id);
        if (!admin && !j.userName().equals(user)) {
            throw new Forbidden("job " + id + " belongs to " + j.userName() + "; only its owner or an admin may cancel it");
        }
        if (JobState.valueOf(j.state()).finished()) {
            throw new Conflict("job " + id + " has already ended (" + j.state() + ")");
        }
        if (jobs.cancelQueued(id, Instant.now()) == 1) {
            history.record(id, JobState.CANCELLED, "cancelled by " + user + " while queued");
        } else {
            jobs.requestCancel(id);
            history.record(id, JobState.RUNNING, "cancel requested by " + user);
        }
        return get(id);
    }

    /** The job's checkpoint file, for download. */
    public Path checkpointFile(long id) {
        get(id);
        Path file = paths.checkpoint(id);
        if (!Files.isRegularFile(file)) {
            throw new NotFound("job " + id + " has no checkpoint yet (one is written after each epoch)");
        }
        return file;
    }
}
