package io.kiln.service.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.access.JobAccess;
import io.kiln.service.access.JobAccess.Result;
import io.kiln.service.auth.Caller;
import io.kiln.service.jobs.JobEvents;
import io.kiln.service.jobs.JobLog;
import io.kiln.service.jobs.JobService;
import io.kiln.service.jobs.JobViews;
import io.kiln.service.jobs.MetricSeries;
import io.kiln.service.jobs.ResultsService;
import io.kiln.service.store.JobQueries;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Patch;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.multipart.CompletedFileUpload;
import io.micronaut.http.server.types.files.SystemFile;
import io.micronaut.http.sse.Event;
import io.micronaut.security.annotation.Secured;
import io.micronaut.security.authentication.Authentication;
import io.micronaut.security.rules.SecurityRule;
import io.swagger.v3.oas.annotations.Operation;
import java.io.IOException;
import java.util.List;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;

/**
 * The jobs API of CONTRACT.md. Everyone with a token reads the queue; a job's results are its owner's and the
 * admins' unless shared ({@link JobAccess}); only owners and admins cancel and share.
 */
@Controller("/api/v1/jobs")
@Secured(SecurityRule.IS_AUTHENTICATED)
@ApiDocs.SignedIn
public class JobController {
    static final int DEFAULT_PAGE_SIZE = 50;
    private final JobService jobs;
    private final JobAccess access;
    private final MetricSeries metrics;
    private final JobLog logs;
    private final JobEvents events;
    private final ResultsService results;

    public JobController(JobService jobs, JobAccess access, MetricSeries metrics, JobLog logs, JobEvents events,
                         ResultsService results) {
        this.jobs = jobs;
        this.access = access;
        this.metrics = metrics;
        this.logs = logs;
        this.events = events;
        this.results = results;
    }

    @Operation(operationId = "submitJob", summary = "Submit a job spec", description = "201 with the job; 400 names "
            + "the bad field; a priority (admins only) goes before fair share; init.fromJob needs the results of that "
            + "job (403 otherwise)")
    @ApiDocs.BadRequest
    @ApiDocs.Refused
    @ApiDocs.TooMany
    @Post(consumes = MediaType.APPLICATION_JSON)
    public HttpResponse<ObjectNode> submit(@Body String spec, @Nullable @QueryValue Integer priority, Authentication who) {
        Caller caller = Caller.of(who);
        return HttpResponse.created(JobViews.full(jobs.submit(caller, spec, priority == null ? 0 : priority, null),
                access, caller));
    }

    @Operation(operationId = "listJobs", summary = "List jobs, newest first (the queue: every user's); filtered by "
            + "state, user, a part of the name, or sweep id")
    @ApiDocs.BadRequest
    @Get
    public ObjectNode list(@Nullable @QueryValue String state, @Nullable @QueryValue String user,
                           @Nullable @QueryValue String name, @Nullable @QueryValue Long sweep,
                           @Nullable @QueryValue Integer page, @Nullable @QueryValue Integer size, Authentication who) {
        int pg = page == null ? 0 : page;
        int sz = size == null ? DEFAULT_PAGE_SIZE : size;
        JobQueries.Filter filter = new JobQueries.Filter(blankless(state), blankless(user), blankless(name), sweep);
        return JobViews.page(jobs.list(filter, pg, sz), pg, sz, access, Caller.of(who));
    }

    /** An empty filter field (a form's cleared input) filters nothing. */
    private static String blankless(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }

    @Operation(operationId = "getJob", summary = "One job: state, progress, latest metrics, whether it is shared, "
            + "and what the caller may do with it")
    @ApiDocs.NoSuch
    @Get("/{id}")
    public ObjectNode get(long id, Authentication who) {
        return JobViews.full(jobs.get(id), access, Caller.of(who));
    }

    @Operation(operationId = "updateJob", summary = "Share a job's results with the lab, or stop sharing them (its "
            + "owner or an admin)", description = "body {\"shared\": true|false}: the log, report, checkpoint, "
            + "predictions and fine-tuning from it become everyone's to use")
    @ApiDocs.BadRequest
    @ApiDocs.Refused
    @ApiDocs.NoSuch
    @Patch(value = "/{id}", consumes = MediaType.APPLICATION_JSON)
    public ObjectNode update(long id, @Nullable @Body JsonNode body, Authentication who) {
        boolean shared = RequestBodies.onlyBoolean(body, "shared");
        Caller caller = Caller.of(who);
        return JobViews.full(jobs.share(id, caller, shared), access, caller);
    }

    @Operation(operationId = "cancelJob", summary = "Cancel a job (its owner or an admin)")
    @ApiDocs.Refused
    @ApiDocs.NoSuch
    @ApiDocs.Conflicting
    @Post("/{id}/cancel")
    public ObjectNode cancel(long id, Authentication who) {
        Caller caller = Caller.of(who);
        return JobViews.full(jobs.cancel(id, caller), access, caller);
    }

    @Operation(operationId = "jobMetrics", summary = "Metric series (everyone's to read)", description = "per-step "
            + "loss and per-epoch train/validation loss and accuracy and samples/s; maxPoints averages the step series "
            + "down to at most that many points")
    @ApiDocs.BadRequest
    @ApiDocs.NoSuch
    @Get("/{id}/metrics")
    public ObjectNode metrics(long id, @Nullable @QueryValue Integer maxPoints) {
        return metrics.of(jobs.get(id).id(), maxPoints);
    }

    @Operation(operationId = "jobEvents", summary = "Server-sent events: state changes, progress and new metrics as "
            + "they happen", description = "everyone's to follow; state messages that quote the job's log are cut "
            + "for those who may not read its results")
    @ApiDocs.NoSuch
    @Get(value = "/{id}/events", produces = MediaType.TEXT_EVENT_STREAM)
    public Publisher<Event<ObjectNode>> events(long id, Authentication who) {
        return events.stream(jobs.get(id), access, Caller.of(who)).map(e -> Event.of(e.data()).name(e.type()));
    }

    @Operation(operationId = "jobLog", summary = "The job's log text (its owner, the admins, or all once shared)")
    @ApiDocs.Refused
    @ApiDocs.NoSuch
    @Get(value = "/{id}/log", produces = MediaType.TEXT_PLAIN)
    public String log(long id, Authentication who) {
        return logs.text(jobs.withResults(id, Caller.of(who), Result.LOG).id());
    }

    @Operation(operationId = "jobCheckpoint", summary = "The trained weights in the engine's checkpoint format "
            + "(docs/checkpoint-format.md; its owner, the admins, or all once shared)")
    @ApiDocs.Refused
    @ApiDocs.NoSuch
    @Get(value = "/{id}/checkpoint", produces = MediaType.APPLICATION_OCTET_STREAM)
    public SystemFile checkpoint(long id, Authentication who) {
        return new SystemFile(jobs.checkpointFile(id, Caller.of(who)).toFile()).attach("job-" + id + ".kiln");
    }

    @Operation(operationId = "jobOnnx", summary = "The trained model as ONNX (opset 13, dynamic batch size; its "
            + "owner, the admins, or all once shared)", description = "input 'input' [batch, C, H, W] normalised as "
            + "the metadata's normalization says; outputs 'logits' and, for softmax and logistic models, "
            + "'probabilities'; class names, input shape and the evaluation transform in the metadata")
    @ApiDocs.Refused
    @ApiDocs.NoSuch
    @Get(value = "/{id}/onnx", produces = MediaType.APPLICATION_OCTET_STREAM)
    public SystemFile onnx(long id, Authentication who) throws IOException {
        return new SystemFile(results.onnx(jobs.withResults(id, Caller.of(who), Result.ONNX)).toFile())
                .attach("job-" + id + ".onnx");
    }

    @Operation(operationId = "jobReport", summary = "HTML report: test images with predicted and true class and "
            + "scores, confusion matrix (its owner, the admins, or all once shared)", description = "images is rounded up "
            + "to one of kiln.report-sizes (default 20, 100, 500); a damaged checkpoint answers 409")
    @ApiDocs.BadRequest
    @ApiDocs.Refused
    @ApiDocs.NoSuch
    @ApiDocs.Conflicting
    @Get(value = "/{id}/report", produces = MediaType.TEXT_HTML)
    public HttpResponse<String> report(long id, @Nullable @QueryValue Integer images, Authentication who)
            throws IOException {
        String html = results.report(jobs.withResults(id, Caller.of(who), Result.REPORT), images);
        return HttpResponse.ok(html).header("Content-Security-Policy", SecurityHeaders.REPORT_POLICY);
    }

    @Operation(operationId = "jobReportSummary", summary = "The report's numbers as JSON: test accuracy, classes, "
            + "confusion matrix (rows the true class), per-class accuracy (its owner, the admins, or all once shared)")
    @ApiDocs.Refused
    @ApiDocs.NoSuch
    @ApiDocs.Conflicting
    @Get("/{id}/report/summary")
    public ObjectNode reportSummary(long id, Authentication who) throws IOException {
        return results.summary(jobs.withResults(id, Caller.of(who), Result.REPORT));
    }

    @Operation(operationId = "predict", summary = "Classify uploaded images (PNG or JPEG) with the job's trained "
            + "weights (its owner, the admins, or all once shared)", description = "at most kiln.predict-max-images "
            + "images of kiln.predict-max-image-bytes each and kiln.predict-max-pixels pixels (read from their headers)")
    @ApiDocs.BadRequest
    @ApiDocs.Refused
    @ApiDocs.NoSuch
    @ApiDocs.Conflicting
    @ApiDocs.TooLargeBody
    @Post(value = "/{id}/predict", consumes = MediaType.MULTIPART_FORM_DATA)
    public ObjectNode predict(long id, Publisher<CompletedFileUpload> images, Authentication who) throws IOException {
        var job = jobs.withResults(id, Caller.of(who), Result.PREDICTIONS);
        List<CompletedFileUpload> files = Flux.from(images).collectList().block();
        return results.predict(job, files == null ? List.of() : files);
    }
}
