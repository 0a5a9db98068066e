package io.kiln.service.api;

import io.kiln.service.jobs.Csv;
import io.kiln.service.jobs.JobService;
import io.kiln.service.jobs.MetricSeries;
import io.kiln.service.store.JobRow;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.security.annotation.Secured;
import io.micronaut.security.rules.SecurityRule;
import io.swagger.v3.oas.annotations.Operation;
import java.util.List;

/** The per-epoch metrics of several jobs in one table: everyone's to read, as each job's metrics are. */
@Controller("/api/v1/metrics")
@Secured(SecurityRule.IS_AUTHENTICATED)
@ApiDocs.SignedIn
public class MetricsController {
    private final JobService jobs;
    private final MetricSeries metrics;

    public MetricsController(JobService jobs, MetricSeries metrics) {
        this.jobs = jobs;
        this.metrics = metrics;
    }

    @Operation(operationId = "severalJobsMetrics", summary = "Per-epoch metrics of several jobs (?jobs=1,2,3)",
            description = "JSON ({\"jobs\": [{\"jobId\", \"name\", \"epochs\"}]}), or one CSV table with ?format=csv or "
                    + "Accept: text/csv: job_id, job_name, epoch, train_loss, train_acc, val_loss, val_acc, "
                    + "samples_per_s, seconds, lr; at most " + MetricSeries.MAX_JOBS + " jobs")
    @ApiDocs.BadRequest
    @ApiDocs.NoSuch
    @Get(produces = {MediaType.APPLICATION_JSON, Csv.MEDIA_TYPE})
    public HttpResponse<?> several(@Nullable @QueryValue("jobs") String ids, @Nullable @QueryValue String format,
                                   HttpRequest<?> request) {
        boolean csv = CsvAnswers.wanted(format, request);
        List<JobRow> found = jobs.getAll(MetricSeries.jobIds(ids));
        if (csv) {
            return CsvAnswers.of(metrics.csv(found), "metrics.csv");
        }
        return HttpResponse.ok(metrics.several(found)).contentType(MediaType.APPLICATION_JSON_TYPE);
    }
}
