package io.kiln.service.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.auth.Caller;
import io.kiln.service.jobs.Csv;
import io.kiln.service.jobs.SweepService;
import io.kiln.service.store.SweepRow;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.security.annotation.Secured;
import io.micronaut.security.authentication.Authentication;
import io.micronaut.security.rules.SecurityRule;
import io.swagger.v3.oas.annotations.Operation;

/** Sweeps, every signed-in user's to read (as the queue is): start one, list them, a summary as JSON or CSV. */
@Controller("/api/v1/sweeps")
@Secured(SecurityRule.IS_AUTHENTICATED)
@ApiDocs.SignedIn
public class SweepController {
    private final SweepService sweeps;

    public SweepController(SweepService sweeps) {
        this.sweeps = sweeps;
    }

    @Operation(operationId = "createSweep", summary = "Start a sweep", description = "body {\"name\", \"base\": SPEC, "
            + "\"grid\": {\"optimizer.lr\": [0.1, 0.01]}, \"retrain\": false}; one job per point of the grid; with "
            + "\"retrain\": true, once every point has ended one more job trains the best point on the training and "
            + "validation data for its best epoch count, and the summary gives it as \"retrained\"")
    @ApiDocs.BadRequest
    @ApiDocs.Refused
    @ApiDocs.TooMany
    @Post(consumes = MediaType.APPLICATION_JSON)
    public HttpResponse<ObjectNode> create(@Body String body, Authentication who) {
        SweepRow s = sweeps.create(Caller.of(who), body);
        return HttpResponse.created(sweeps.view(s.id()));
    }

    @Operation(operationId = "listSweeps", summary = "List sweeps, newest first (every user's, or one user's)",
            description = "each sweep's summary without its points: state, parameters and grid, pointCount, best, "
                    + "retrained; paged like the job list")
    @ApiDocs.BadRequest
    @Get
    public ObjectNode list(@Nullable @QueryValue String user, @Nullable @QueryValue Integer page,
                           @Nullable @QueryValue Integer size) {
        return sweeps.list(user, page == null ? 0 : page, size == null ? JobController.DEFAULT_PAGE_SIZE : size);
    }

    @Operation(operationId = "getSweep", summary = "A sweep's summary table with the best point and the retraining",
            description = "JSON, or CSV with ?format=csv or Accept: text/csv: a column per swept parameter, then "
                    + "best_val_acc, best_epoch, test_acc, seconds, epochs, state, job_id and role (point, best, "
                    + "retrained), a row per point and one for the retraining job")
    @ApiDocs.BadRequest
    @ApiDocs.NoSuch
    @Get(value = "/{id}", produces = {MediaType.APPLICATION_JSON, Csv.MEDIA_TYPE})
    public HttpResponse<?> get(long id, @Nullable @QueryValue String format, HttpRequest<?> request) {
        if (CsvAnswers.wanted(format, request)) {
            return CsvAnswers.of(sweeps.csv(id), "sweep-" + id + ".csv");
        }
        return HttpResponse.ok(sweeps.view(id)).contentType(MediaType.APPLICATION_JSON_TYPE);
    }
}
