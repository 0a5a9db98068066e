package io.kiln.service.jobs;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.spec.SpecParser;
import io.kiln.service.config.KilnConfig;
import io.kiln.service.devices.DeviceInventory;
import io.kiln.service.store.JobEventRepository;
import io.kiln.service.store.JobEventRow;
import io.kiln.service.store.JobQueries;
import io.kiln.service.store.JobRepository;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.JobState;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.exceptions.HttpStatusException;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/** Submitting, reading and cancelling jobs: the rules, kept out of the controllers. */
@Singleton
public class JobService {
    private final JobRepository jobs;
    private final JobEventRepository history;
    private final JobQueries queries;
    private final KilnConfig config;
    private final DeviceInventory devices;
    private final JobEvents events;
    private final MemoryCheck memory;

    public JobService(JobRepository jobs, JobEventRepository history, JobQueries queries, KilnConfig config,
                      DeviceInventory devices, JobEvents events, MemoryCheck memory) {
        this.jobs = jobs;
        this.history = history;
        this.queries = queries;
        this.config = config;
        this.devices = devices;
        this.events = events;
        this.memory = memory;
    }

    /**
     * Checks a spec and queues it.
     *
     * @throws SpecException for a spec that breaks a rule (answered 400 naming the field)
     * @throws HttpStatusException 429 when the user has too many queued jobs
     */
    @Transactional
    public JobRow submit(String user, String specJson, int priority, @Nullable Long sweepId) {
        JobSpec spec = SpecParser.parse(specJson);
        check(spec);
        long queued = jobs.countByUserNameAndState(user, JobState.QUEUED.name());
        if (queued >= config.getMaxQueuedPerUser()) {
            throw new HttpStatusException(HttpStatus.TOO_MANY_REQUESTS, "user " + user + " already has " + queued
                    + " queued jobs, the limit is " + config.getMaxQueuedPerUser() + "; wait for some to start");
        }
        Instant now = Instant.now();
        JobRow row = jobs.save(new JobRow(null, spec.name(), user, specJson, spec.device(), priority,
                JobState.QUEUED.name(), null, null, null, false, 0, 0, spec.training().epochs(), 0, 0, 0, null, null,
                sweepId, now, null, null, 0.0));
        record(row.id(), JobState.QUEUED, "submitted by " + user);
        return row;
    }

    /** Rules that need the server's view: the dataset exists, the device exists, a fine-tuning source has weights. */
    void check(JobSpec spec) {
        Path data = config.getDataRoot().resolve(spec.data().name());
        if (!Files.isDirectory(data)) {
            throw new SpecException("data.name", "no dataset \"" + spec.data().name() + "\" in the data root "
                    + config.getDataRoot() + " (GET /api/v1/datasets lists them)");
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
            if (!Files.isRegularFile(checkpoint(from))) {
                throw new SpecException("init.fromJob", "job " + from + " has no checkpoint yet");
            }
        }
    }

    public JobRow get(long id) {
        return jobs.findById(id).orElseThrow(() -> new HttpStatusException(HttpStatus.NOT_FOUND, "no job " + id));
    }

    public JobQueries.Page list(@Nullable String state, @Nullable String user, int page, int size) {
        if (state != null) {
            try {
                JobState.valueOf(state);
            } catch (IllegalArgumentException e) {
                throw new HttpStatusException(HttpStatus.BAD_REQUEST, "state: must be one of QUEUED, RUNNING, SUCCEEDED, "
                        + "FAILED, CANCELLED");
            }
        }
        if (page < 0 || size < 1 || size > 500) {
            throw new HttpStatusException(HttpStatus.BAD_REQUEST, "page must be >= 0 and size between 1 and 500");
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
            throw new HttpStatusException(HttpStatus.FORBIDDEN, "job " + id + " belongs to " + j.userName()
                    + "; only its owner or an admin may cancel it");
        }
        if (JobState.valueOf(j.state()).finished()) {
            throw new HttpStatusException(HttpStatus.CONFLICT, "job " + id + " has already ended (" + j.state() + ")");
        }
        if (jobs.cancelQueued(id, Instant.now()) == 1) {
            record(id, JobState.CANCELLED, "cancelled by " + user + " while queued");
        } else {
            jobs.requestCancel(id);
            record(id, JobState.RUNNING, "cancel requested by " + user);
        }
        return get(id);
    }

    public Path jobDir(long id) {
        return config.jobsDir().resolve(Long.toString(id));
    }

    public Path checkpoint(long id) {
        return jobDir(id).resolve(io.kiln.engine.train.Trainer.CHECKPOINT_FILE);
    }

    /** Adds to the job's state history and tells SSE listeners. */
    public void record(long id, JobState state, @Nullable String message) {
        history.save(new JobEventRow(null, id, state.name(), message, Instant.now()));
        ObjectNode n = JobViews.JSON.createObjectNode();
        n.put("state", state.name());
        n.put("message", message);
        events.publish(id, "state", n);
    }
}
