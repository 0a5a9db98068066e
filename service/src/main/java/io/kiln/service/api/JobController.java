package io.kiln.service.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.auth.TokenService;
import io.kiln.service.jobs.JobEvents;
import io.kiln.service.jobs.JobService;
import io.kiln.service.jobs.JobViews;
import io.kiln.service.jobs.ResultsService;
import io.kiln.service.store.JobQueries;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.JobState;
import io.kiln.service.store.LogRepository;
import io.kiln.service.store.LogRow;
import io.kiln.service.store.MetricStore;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.exceptions.HttpStatusException;
import io.micronaut.http.multipart.CompletedFileUpload;
import io.micronaut.http.server.types.files.SystemFile;
import io.micronaut.http.sse.Event;
import io.micronaut.security.annotation.Secured;
import io.micronaut.security.authentication.Authentication;
import io.micronaut.security.rules.SecurityRule;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;

/** The jobs API of CONTRACT.md. Everyone with a token may read the queue; only owners and admins cancel. */
@Controller("/api/v1/jobs")
@Secured(SecurityRule.IS_AUTHENTICATED)
@SecurityRequirement(name = "bearer")
public class JobController {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final JobService jobs;
    private final MetricStore metrics;
    private final LogRepository logs;
    private final JobEvents events;
    private final ResultsService results;

    public JobController(JobService jobs, MetricStore metrics, LogRepository logs, JobEvents events, ResultsService results) {
        this.jobs = jobs;
        this.metrics = metrics;
        this.logs = logs;
        this.events = events;
        this.results = results;
    }

    @Operation(summary = "Submit a job spec", description = "201 with the job; 400 names the bad field")
    @Post(consumes = MediaType.APPLICATION_JSON)
    public HttpResponse<ObjectNode> submit(@Body String spec, @Nullable @QueryValue Integer priority, Authentication who) {
        int p = priority == null ? 0 : priority;
        if (p != 0 && !admin(who)) {
            throw new HttpStatusException(HttpStatus.FORBIDDEN, "only an admin may set a priority");
        }
        JobRow job = jobs.submit(who.getName(), spec, p, null);
        return HttpResponse.created(JobViews.full(job));
    }

    @Operation(summary = "List jobs, newest first")
    @Get
    public ObjectNode list(@Nullable @QueryValue String state, @Nullable @QueryValue String user,
                           @Nullable @QueryValue Integer page, @Nullable @QueryValue Integer size) {
        int pg = page == null ? 0 : page;
        int sz = size == null ? 50 : size;
        JobQueries.Page result = jobs.list(state, user, pg, sz);
        ObjectNode n = JSON.createObjectNode();
        ArrayNode list = n.putArray("jobs");
        result.jobs().forEach(j -> list.add(JobViews.summary(j)));
        n.put("page", pg);
        n.put("size", sz);
        n.put("total", result.total());
        return n;
    }

    @Get("/{id}")
    public ObjectNode get(long id) {
        return JobViews.full(jobs.get(id));
    }

    @Operation(summary = "Cancel a job (its owner or an admin)")
    @Post("/{id}/cancel")
    public ObjectNode cancel(long id, Authentication who) {
        return JobViews.full(jobs.cancel(id, who.getName(), admin(who)));
    }

    @Operation(summary = "Metric series", description = "per-step loss and per-epoch train/validation loss and "
            + "accuracy and samples/s; maxPoints averages the step series down to at most that many points")
    @Get("/{id}/metrics")
    public ObjectNode metrics(long id, @Nullable @QueryValue Integer maxPoints) {
        jobs.get(id);
        ObjectNode n = JSON.createObjectNode();
        n.put("jobId", Long.toString(id));
        ArrayNode steps = n.putArray("steps");
        for (MetricStore.StepPoint p : downsample(metrics.steps(id), maxPoints)) {
            ObjectNode s = steps.addObject();
            s.put("epoch", p.epoch());
            s.put("step", p.step());
            s.put("globalStep", p.globalStep());
            putNumber(s, "loss", p.loss());
        }
        ArrayNode epochs = n.putArray("epochs");
        for (MetricStore.EpochPoint p : metrics.epochs(id)) {
            ObjectNode e = epochs.addObject();
            e.put("epoch", p.epoch());
            putNumber(e, "train_loss", p.trainLoss());
            putNumber(e, "train_acc", p.trainAcc());
            putNumber(e, "val_loss", p.valLoss());
            putNumber(e, "val_acc", p.valAcc());
            putNumber(e, "samples_per_s", p.samplesPerSecond());
            putNumber(e, "seconds", p.seconds());
        }
        return n;
    }

    /** Averages consecutive points into at most {@code max} buckets, each placed at its last step. */
    static List<MetricStore.StepPoint> downsample(List<MetricStore.StepPoint> points, @Nullable Integer max) {
        if (max == null || max <= 0 || points.size() <= max) {
            return points;
        }
        List<MetricStore.StepPoint> out = new ArrayList<>(max);
        for (int b = 0; b < max; b++) {
            int from = (int) ((long) b * points.size() / max);
            int to = (int) ((long) (b + 1) * points.size() / max);
            double sum = 0;
            int n = 0;
            for (int i = from; i < to; i++) {
                if (Double.isFinite(points.get(i).loss())) {
                    sum += points.get(i).loss();
                    n++;
                }
            }
            MetricStore.StepPoint last = points.get(to - 1);
            out.add(new MetricStore.StepPoint(last.epoch(), last.step(), last.globalStep(), n == 0 ? Double.NaN : sum / n));
        }
        return out;
    }

    @Operation(summary = "Server-sent events: state changes, progress and new metrics as they happen")
    @Get(value = "/{id}/events", produces = MediaType.TEXT_EVENT_STREAM)
    public Publisher<Event<ObjectNode>> events(long id) {
        JobRow job = jobs.get(id);
        Event<ObjectNode> first = Event.of(JobViews.summary(job)).name("job");
        if (JobState.valueOf(job.state()).finished()) {
            return Flux.just(first);
        }
        Flux<Event<ObjectNode>> live = events.of(id).map(e -> Event.of(e.data()).name(e.type()));
        Flux<Event<ObjectNode>> keepAlive = Flux.interval(Duration.ofSeconds(15))
                .map(t -> Event.of(JSON.createObjectNode()).name("ping"));
        // The stream ends with the event that tells the job has ended.
        return Flux.concat(Flux.just(first), Flux.merge(live, keepAlive)
                .takeUntil(e -> "state".equals(e.getName())
                        && JobState.valueOf(e.getData().path("state").asText()).finished()));
    }

    @Get(value = "/{id}/log", produces = MediaType.TEXT_PLAIN)
    public String log(long id) {
        jobs.get(id);
        StringBuilder s = new StringBuilder();
        for (LogRow r : logs.findByJobIdOrderById(id)) {
            s.append(r.text());
        }
        return s.toString();
    }

    @Operation(summary = "The trained weights in the engine's checkpoint format (docs/checkpoint-format.md)")
    @Get(value = "/{id}/checkpoint", produces = MediaType.APPLICATION_OCTET_STREAM)
    public SystemFile checkpoint(long id) {
        jobs.get(id);
        Path file = jobs.checkpoint(id);
        if (!Files.isRegularFile(file)) {
            throw new HttpStatusException(HttpStatus.NOT_FOUND, "job " + id + " has no checkpoint yet (one is written "
                    + "after each epoch)");
        }
        return new SystemFile(file.toFile()).attach("job-" + id + ".kiln");
    }

    @Operation(summary = "HTML report: test images with predicted and true class and scores, confusion matrix")
    @Get(value = "/{id}/report", produces = MediaType.TEXT_HTML)
    public String report(long id, @Nullable @QueryValue Integer images) throws IOException {
        return results.report(jobs.get(id), images == null ? 100 : Math.max(0, Math.min(images, 2000)));
    }

    @Operation(summary = "Classify uploaded images (PNG or JPEG) with the job's trained weights")
    @Post(value = "/{id}/predict", consumes = MediaType.MULTIPART_FORM_DATA)
    public ObjectNode predict(long id, Publisher<CompletedFileUpload> images) throws IOException {
        List<CompletedFileUpload> files = Flux.from(images).collectList().block();
        return results.predict(jobs.get(id), files == null ? List.of() : files);
    }

    static boolean admin(Authentication who) {
        return who.getRoles().contains(TokenService.ADMIN);
    }

    private static void putNumber(ObjectNode n, String field, Double v) {
        if (v == null || !Double.isFinite(v)) {
            n.putNull(field);
        } else {
            n.put(field, v);
        }
    }
}
