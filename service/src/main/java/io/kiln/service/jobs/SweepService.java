package io.kiln.service.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.spec.JsonText;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.spec.SweepGrid;
import io.kiln.service.auth.Caller;
import io.kiln.service.errors.BadInput;
import io.kiln.service.errors.NotFound;
import io.kiln.service.store.JobRepository;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.MetricStore;
import io.kiln.service.store.SweepRepository;
import io.kiln.service.store.SweepRow;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.model.Page;
import io.micronaut.data.model.Pageable;
import io.micronaut.data.model.Sort;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Sweeps: one job per point of a grid over spec paths, and the summary table a course hands in (each point's
 * best validation accuracy and its epoch, test accuracy, time), with the best point named ({@link SweepSummary});
 * the list of sweeps; and, with {@code "retrain": true}, the job that retrains the best point on the training
 * and validation data once every point has ended ({@link SweepRetrain}).
 */
@Singleton
public class SweepService {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The longest sweep name (the store's column). */
    static final int MAX_NAME = 200;
    private final SweepRepository sweeps;
    private final JobRepository jobs;
    private final JobService jobService;
    private final MetricStore metrics;
    private final RequestJson json;

    public SweepService(SweepRepository sweeps, JobRepository jobs, JobService jobService, MetricStore metrics,
                        RequestJson json) {
        this.sweeps = sweeps;
        this.jobs = jobs;
        this.jobService = jobService;
        this.metrics = metrics;
        this.json = json;
    }

    /** Creates the sweep and all its jobs, or nothing when one point is refused. */
    @Transactional
    public SweepRow create(Caller caller, String body) {
        String user = caller.name();
        JsonNode req = json.parse(body, "the sweep");
        if (!req.isObject()) {
            throw new SpecException("", "a sweep is a JSON object {\"name\", \"base\", \"grid\", \"retrain\"}");
        }
        List<SweepGrid.Point> points = SweepGrid.expand(req.get("base"), req.get("grid"));
        boolean retrain = retrain(req.get("retrain"), points);
        String name = req.path("name").asText(req.path("base").path("name").asText("sweep"));
        if (name.isBlank() || name.length() > MAX_NAME) {
            throw new BadInput("name", "must be 1 to " + MAX_NAME + " characters, got " + name.length());
        }
        SweepRow sweep = sweeps.save(new SweepRow(null, name, user, body, Instant.now(), retrain, null, null));
        for (SweepGrid.Point p : points) {
            jobService.submit(caller, p.spec().json().toString(), 0, sweep.id());
        }
        return sweep;
    }

    /** {@code "retrain"}: a boolean; retraining picks the best point by validation accuracy, which each needs. */
    private static boolean retrain(JsonNode v, List<SweepGrid.Point> points) {
        if (v == null || v.isNull()) {
            return false;
        }
        if (!v.isBoolean()) {
            throw new BadInput("retrain", "must be true or false, got " + v);
        }
        if (v.asBoolean()) {
            for (int i = 0; i < points.size(); i++) {
                if (!(points.get(i).spec().data().validationSplit() > 0)) {
                    throw new BadInput("retrain", "picks the best point by its validation accuracy, but grid point "
                            + (i + 1) + " has none: give base.data.validationSplit > 0, e.g. 0.1");
                }
            }
        }
        return v.asBoolean();
    }

    public SweepRow get(long id) {
        return sweeps.findById(id).orElseThrow(() -> new NotFound("no sweep " + id));
    }

    /** The sweep's summary (fields in CONTRACT.md and docs/service.md). */
    public ObjectNode view(long id) {
        SweepRow sweep = get(id);
        List<JobRow> points = jobs.findBySweepIdOrderById(id);
        return SweepSummary.of(sweep, points, metrics.epochs(points.stream().map(JobRow::id).toList()));
    }

    /** The summary as CSV: a column per swept parameter, then the figures; a row per point and the retraining. */
    public String csv(long id) {
        return SweepSummary.csv(view(id));
    }

    /**
     * One page of sweeps, newest first, optionally one user's: each sweep's summary without its points (their
     * number is {@code pointCount}), with the best point and the retraining.
     */
    public ObjectNode list(@Nullable String user, int page, int size) {
        JobService.checkPage(page, size);
        Pageable pageable = Pageable.from(page, size, Sort.of(Sort.Order.desc("id")));
        Page<SweepRow> found = user == null ? sweeps.findAll(pageable) : sweeps.findByUserName(user, pageable);
        List<Long> ids = found.getContent().stream().map(SweepRow::id).toList();
        Map<Long, List<JobRow>> bySweep = ids.isEmpty() ? Map.of() : jobs.findBySweepIdInOrderById(ids).stream()
                .collect(Collectors.groupingBy(JobRow::sweepId));
        Map<Long, List<MetricStore.EpochPoint>> epochs = metrics.epochs(bySweep.values().stream()
                .flatMap(List::stream).map(JobRow::id).toList());
        ObjectNode n = JSON.createObjectNode();
        ArrayNode list = n.putArray("sweeps");
        for (SweepRow s : found.getContent()) {
            ObjectNode summary = SweepSummary.of(s, bySweep.getOrDefault(s.id(), List.of()), epochs);
            summary.remove("points");
            list.add(summary);
        }
        n.put("page", page);
        n.put("size", size);
        n.put("total", found.getTotalSize());
        return n;
    }
}
