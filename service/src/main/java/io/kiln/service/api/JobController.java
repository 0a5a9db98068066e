package io.kiln.service.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.auth.TokenService;
import io.kiln.service.jobs.JobEvents;
import io.kiln.service.jobs.JobLog;
import io.kiln.service.jobs.JobService;
import io.kiln.service.jobs.JobViews;
import io.kiln.service.jobs.MetricSeries;
import io.kiln.service.jobs.ResultsService;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.multipart.CompletedFileUpload;
import io.micronaut.http.server.types.files.SystemFile;
import io.micronaut.http.sse.Event;
import io.micronaut.security.annotation.Secured;
import io.micronaut.security.authentication.Authentication;
import io.micronaut.security.rules.SecurityRule;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import java.io.IOException;
import java.util.List;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;

/** The jobs API of CONTRACT.md. Everyone with a token may read the queue; only owners and admins cancel. */
@Controller("/api/v1/jobs")
@Secured(SecurityRule.IS_AUTHENTICATED)
@SecurityRequirement(name = "bearer")
public class JobController {
    static final int DEFAULT_PAGE_SIZE = 50;
    private final JobService jobs;
    private final MetricSeries metrics;
    private final JobLog logs;
    private final JobEvents events;
    private final ResultsService results;

    public JobController(JobService jobs, MetricSeries metrics, JobLog logs, JobEvents events, ResultsService results) {
        this.jobs = jobs;
        this.metrics = metrics;
        this.logs = logs;
        this.events = events;
        this.results = results;
    }

    @Operation(summary = "Submit a job spec", description = "201 with the job; 400 names the bad field; a priority "
            + "(admins only) goes before fair share")
    @Post(consumes = MediaType.APPLICATION_JSON)
    public HttpResponse<ObjectNode> submit(@Body String spec, @Nullable @QueryValue Integer priority, Authentication who) {
        return HttpResponse.created(JobViews.full(jobs.submit(who.getName(), admin(who), spec,
                priority == null ? 0 : priority, null)));
    }

    @Operation(summary = "List jobs, newest first")
    @Get
    public ObjectNode list(@Nullable @QueryValue String state, @Nullable @QueryValue String user,
                           @Nullable @QueryValue Integer page, @Nullable @QueryValue Integer size) {
        int pg = page == null ? 0 : page;
        int sz = size == null ? DEFAULT_PAGE_SIZE : size;
        return JobViews.page(jobs.list(state, user, pg, sz), pg, sz);
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
        return metrics.of(jobs.get(id).id(), maxPoints);
    }

    @Operation(summary = "Server-sent events: state changes, progress and new metrics as they happen")
    @Get(value = "/{id}/events", produces = MediaType.TEXT_EVENT_STREAM)
    public Publisher<Event<ObjectNode>> events(long id) {
        return events.stream(jobs.get(id)).map(e -> Event.of(e.data()).name(e.type()));
    }

    @Get(value = "/{id}/log", produces = MediaType.TEXT_PLAIN)
    public String log(long id) {
        return logs.text(jobs.get(id).id());
    }

    @Operation(summary = "The trained weights in the engine's checkpoint format (docs/checkpoint-format.md)")
    @Get(value = "/{id}/checkpoint", produces = MediaType.APPLICATION_OCTET_STREAM)
    public SystemFile checkpoint(long id) {
        return new SystemFile(jobs.checkpointFile(id).toFile()).attach("job-" + id + ".kiln");
    }

    @Operation(summary = "HTML report: test images with predicted and true class and scores, confusion matrix")
    @Get(value = "/{id}/report", produces = MediaType.TEXT_HTML)
    public String report(long id, @Nullable @QueryValue Integer images) throws IOException {
        return results.report(jobs.get(id), images);
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
}
