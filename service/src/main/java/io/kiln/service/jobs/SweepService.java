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
import io.kiln.service.store.JobState;
import io.kiln.service.store.MetricStore;
import io.kiln.service.store.SweepRepository;
import io.kiln.service.store.SweepRow;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * Sweeps: one job per point of a grid over spec paths, and the summary table a course hands in (each point's
 * best validation accuracy and its epoch, test accuracy, time), with the best point named.
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
            throw new SpecException("", "a sweep is a JSON object {\"name\", \"base\", \"grid\"}");
        }
        List<SweepGrid.Point> points = SweepGrid.expand(req.get("base"), req.get("grid"));
        String name = req.path("name").asText(req.path("base").path("name").asText("sweep"));
        if (name.isBlank() || name.length() > MAX_NAME) {
            throw new BadInput("name", "must be 1 to " + MAX_NAME + " characters, got " + name.length());
        }
        SweepRow sweep = sweeps.save(new SweepRow(null, name, user, body, Instant.now()));
        for (SweepGrid.Point p : points) {
            jobService.submit(caller, p.spec().json().toString(), 0, sweep.id());
        }
        return sweep;
    }

    public ObjectNode view(long id) {
        SweepRow sweep = sweeps.findById(id).orElseThrow(() -> new NotFound("no sweep " + id));
        JsonNode grid = JobViews.parse(sweep.body()).path("grid");
        List<JobRow> points = jobs.findBySweepIdOrderById(id);
        ObjectNode n = JSON.createObjectNode();
        n.put("id", Long.toString(id));
        n.put("name", sweep.name());
        n.put("user", sweep.userName());
        n.put("submittedAt", sweep.submittedAt().toString());
        ArrayNode list = n.putArray("points");
        ObjectNode best = null;
        double bestScore = Double.NEGATIVE_INFINITY;
        int queued = 0;
        int running = 0;
        int failed = 0;
        int cancelled = 0;
        for (JobRow j : points) {
            ObjectNode p = list.addObject();
            p.set("values", valuesOf(grid, JobViews.parse(j.spec())));
            p.put("jobId", Long.toString(j.id()));
            p.put("state", j.shownState());
            double bestVal = Double.NaN;
            int bestEpoch = 0;
            double seconds = 0;
            for (MetricStore.EpochPoint e : metrics.epochs(j.id())) {
                if (e.valAcc() != null && !(e.valAcc() <= bestVal)) {
                    bestVal = e.valAcc();
                    bestEpoch = e.epoch();
                }
                seconds += e.seconds() == null ? 0 : e.seconds();
            }
            JsonNode latest = JobViews.parse(j.latestMetrics());
            number(p, "bestValAcc", bestVal);
            if (bestEpoch > 0) {
                p.put("bestEpoch", bestEpoch);
            } else {
                p.putNull("bestEpoch");
            }
            number(p, "testAcc", latest.path("test_acc").asDouble(Double.NaN));
            number(p, "seconds", seconds);
            double score = Double.isNaN(bestVal) ? latest.path("test_acc").asDouble(Double.NaN) : bestVal;
            if (!Double.isNaN(score) && score > bestScore) {
                bestScore = score;
                best = p;
            }
            switch (JobState.valueOf(j.shownState())) {
                case QUEUED -> queued++;
                case RUNNING -> running++;
                case FAILED -> failed++;
                case CANCELLED -> cancelled++;
                default -> { }
            }
        }
        String state = running > 0 || (queued > 0 && queued < points.size()) ? "RUNNING"
                : queued > 0 ? "QUEUED"
                : failed > 0 ? "FAILED"
                : cancelled > 0 ? "CANCELLED" : "SUCCEEDED";
        n.put("state", state);
        if (best != null) {
            n.set("best", best.deepCopy());
        } else {
            n.putNull("best");
        }
        return n;
    }

    /** The grid values of one point, read back from its spec. */
    private static ObjectNode valuesOf(JsonNode grid, JsonNode spec) {
        ObjectNode values = JSON.createObjectNode();
        for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) grid::fields) {
            JsonNode v = spec;
            for (String part : e.getKey().split("\\.")) {
                int bracket = part.indexOf('[');
                v = v.path(bracket < 0 ? part : part.substring(0, bracket));
                for (java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\[(\\d+)]").matcher(part); m.find(); ) {
                    v = v.path(Integer.parseInt(m.group(1)));
                }
            }
            values.set(e.getKey(), v);
        }
        return values;
    }

    private static void number(ObjectNode n, String field, double v) {
        if (Double.isFinite(v)) {
            n.put(field, v);
        } else {
            n.putNull(field);
        }
    }
}
