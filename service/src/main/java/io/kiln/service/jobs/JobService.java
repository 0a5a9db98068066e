package io.kiln.service.jobs;

import io.kiln.engine.nn.MemoryEstimate;
import io.kiln.engine.nn.ModelPlan;
import io.kiln.engine.spec.CaptioningOptions;
import io.kiln.engine.optim.Optimizer;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.spec.SpecParser;
import io.kiln.service.access.JobAccess;
import io.kiln.service.auth.Caller;
import io.kiln.service.auth.TokenService;
import io.kiln.service.config.KilnConfig;
import io.kiln.service.config.KilnLimits;
import io.kiln.service.config.KilnPaths;
import io.kiln.service.executor.JobExecutor;
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

/**
 * Submitting, reading, sharing and cancelling jobs: the rules, kept out of the controllers; who may do what is
 * {@link JobAccess}'s.
 */
@Singleton
public class JobService {
    /** The most jobs one page of the list holds. */
    public static final int MAX_PAGE_SIZE = 500;
    private final JobRepository jobs;
    private final JobQueries queries;
    private final JobHistory history;
    private final KilnConfig config;
    private final KilnPaths paths;
    private final JobExecutor executor;
    private final MemoryCheck memory;
    private final JobAccess access;
    private final JobLog log;
    private final DatasetFacts datasets;
    private final RequestJson json;
    private final KilnLimits limits;
    private final FineTuningSources fineTuning;

    public JobService(JobRepository jobs, JobQueries queries, JobHistory history, KilnConfig config, KilnPaths paths,
                      JobExecutor executor, MemoryCheck memory, JobAccess access, JobLog log, DatasetFacts datasets,
                      RequestJson json, KilnLimits limits, FineTuningSources fineTuning) {
        this.jobs = jobs;
        this.queries = queries;
        this.history = history;
        this.config = config;
        this.paths = paths;
        this.executor = executor;
        this.memory = memory;
        this.access = access;
        this.log = log;
        this.datasets = datasets;
        this.json = json;
        this.limits = limits;
        this.fineTuning = fineTuning;
    }

    /**
     * Checks a spec and queues it. Only an admin may give a priority other than 0: a higher one jumps the queue
     * and fair share.
     *
     * @throws SpecException for a spec that breaks a rule (naming the field), or that the server can tell will fail:
     *                       it does not fit the dataset or the device's memory
     * @throws BadInput for a body over kiln.max-json-bytes or kiln.max-json-depth
     * @throws Forbidden for a priority set by someone who is not an admin, or fine-tuning from a job whose results
     *     or a model that the caller may not see
     * @throws LimitReached when the user already has kiln.max-queued-per-user jobs queued
     */
    @Transactional
    public JobRow submit(Caller caller, String specJson, int priority, @Nullable Long sweepId) {
        if (priority != 0 && !caller.admin()) {
            throw new Forbidden("priority", "only an admin may set a priority; you are " + caller.name());
        }
        String user = caller.name();
        JobSpec spec = SpecParser.parse(json.parse(specJson, "the spec"));
        check(spec, caller);
        long queued = jobs.countByUserNameAndState(user, JobState.QUEUED.name());
        if (queued >= config.maxQueuedPerUser()) {
            throw new LimitReached("user " + user + " already has " + queued + " queued jobs, the limit is "
                    + config.maxQueuedPerUser() + "; wait for some to start");
        }
        return queue(spec, specJson, user, priority, sweepId);
    }

    /**
     * Queues the job that follows from a sweep its user submitted (the retraining of the best point): checked as
     * any job is, but not counted against kiln.max-queued-per-user, which the sweep's points were when it was
     * accepted. Runs in the caller's transaction (and a refusal leaves it as it is).
     *
     * @throws SpecException for a spec that no longer passes (its dataset removed, say)
     */
    JobRow submitFollowUp(Caller owner, String specJson, long sweepId) {
        JobSpec spec = SpecParser.parse(specJson);
        check(spec, owner);
        return queue(spec, specJson, owner.name(), 0, sweepId);
    }

    private JobRow queue(JobSpec spec, String specJson, String user, int priority, @Nullable Long sweepId) {
        Instant now = Instant.now();
        JobRow row = jobs.save(new JobRow(null, spec.name(), user, specJson, spec.device(), priority,
                JobState.QUEUED.name(), null, null, null, false, 0, 0, spec.training().epochs(), 0, 0, 0, null, null,
                sweepId, now, null, null, 0.0, false, null, 0, null, null));
        history.record(row.id(), JobState.QUEUED, "submitted by " + user);
        return row;
    }

    /**
     * Rules that need the server's view: the dataset exists, the device exists where jobs run (the executor's
     * answer), the model fits the dataset (its sample shape, its classes, a preset's smallest image, no tensor too
     * large for an array: {@link ModelPlan}) and, where jobs run on this machine, its memory ({@link MemoryCheck}),
     * a fine-tuning source has weights that the caller may use and that fit ({@link FineTuningSources}). The engine
     * checks the spec again when it runs.
     */
    void check(JobSpec spec, Caller caller) {
        if (!Files.isDirectory(paths.dataset(spec.data().name()))) {
            throw new SpecException("data.name", "no dataset \"" + spec.data().name() + "\" in the data root "
                    + paths.dataRoot() + " (GET /api/v1/datasets lists them)");
        }
        executor.refusal(spec.device()).ifPresent(why -> {
            throw new SpecException("device", why);
        });
        // A captioning model is not a layer list: its data and sizes are checked by the engine when it runs.
        if (!CaptioningOptions.PRESET.equals(spec.model().preset())) {
            DatasetFacts.Facts data = datasets.of(spec.data());
            ModelPlan plan = ModelPlan.of(spec, data.sampleShape(), data.classes());
            // Not this machine's GPUs, heap or RAM for a job a batch system runs on its own nodes: SLURM gets the
            // estimate as --mem and places (or refuses) the job itself.
            if (limits.memoryCheck() && executor.traits().runsOnThisMachine()) {
                memory.check(spec, MemoryEstimate.of(plan, new Optimizer(null, spec.optimizer()).stateSlots()), data);
            }
        }
        fineTuning.check(spec, caller);
    }

    public JobRow get(long id) {
        return jobs.findById(id).orElseThrow(() -> new NotFound("no job " + id));
    }

    /**
     * The jobs of these ids, in that order.
     *
     * @throws NotFound naming the first that does not exist
     */
    public java.util.List<JobRow> getAll(java.util.List<Long> ids) {
        java.util.Map<Long, JobRow> found = new java.util.HashMap<>();
        jobs.findByIdIn(ids).forEach(j -> found.put(j.id(), j));
        return ids.stream().map(id -> {
            JobRow j = found.get(id);
            if (j == null) {
                throw new NotFound("no job " + id);
            }
            return j;
        }).toList();
    }

    /** The job, for a caller who may see this result of it ({@link JobAccess#requireResults}). */
    public JobRow withResults(long id, Caller caller, JobAccess.Result what) {
        JobRow j = get(id);
        access.requireResults(j, caller, what);
        return j;
    }

    /** Shares the job's results with the lab, or stops sharing them; its owner or an admin only. */
    @Transactional
    public JobRow share(long id, Caller caller, boolean shared) {
        JobRow j = get(id);
        access.requireOwnerOrAdmin(j, caller, shared ? "share" : "stop sharing");
        if (j.shared() != shared) {
            jobs.updateShared(id, shared);
            log.append(id, "kiln: " + (shared ? "shared with the lab by " : "no longer shared, by ") + caller.name() + "\n");
        }
        return get(id);
    }

    public JobQueries.Page list(JobQueries.Filter filter, int page, int size) {
        if (filter.user() != null && filter.user().length() > TokenService.MAX_USER_NAME) {
            throw new BadInput("user", "is " + filter.user().length() + " characters long; user names have at most "
                    + TokenService.MAX_USER_NAME);
        }
        if (filter.state() != null) {
            try {
                JobState.valueOf(filter.state());
            } catch (IllegalArgumentException e) {
                throw new BadInput("state", "must be one of QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED");
            }
        }
        checkPage(page, size);
        if (filter.name() != null && filter.name().length() > 200) {
            throw new BadInput("name", "must be at most 200 characters");
        }
        return queries.list(filter, page, size);
    }

    /** The rules of {@code page} and {@code size} in every paged list (jobs, sweeps). */
    static void checkPage(int page, int size) {
        if (page < 0) {
            throw new BadInput("page", "must be >= 0, got " + page);
        }
        if (size < 1 || size > MAX_PAGE_SIZE) {
            throw new BadInput("size", "must be between 1 and " + MAX_PAGE_SIZE + ", got " + size);
        }
    }

    /**
     * Cancels a job for its owner or an admin: a queued job at once, a running one once its worker has stopped
     * (the server running it sees the request at its next tick).
     */
    @Transactional
    public JobRow cancel(long id, Caller caller) {
        JobRow j = get(id);
        access.requireOwnerOrAdmin(j, caller, "cancel");
        String user = caller.name();
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

    /** The job's checkpoint file, for download by a caller who may see the job's results. */
    public Path checkpointFile(long id, Caller caller) {
        withResults(id, caller, JobAccess.Result.CHECKPOINT);
        Path file = paths.checkpoint(id);
        if (!Files.isRegularFile(file)) {
            throw new NotFound("job " + id + " has no checkpoint yet (one is written after each epoch)");
        }
        return file;
    }
}
