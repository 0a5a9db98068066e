package io.kiln.service.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.auth.Caller;
import io.kiln.service.jobs.SweepService;
import io.kiln.service.store.SweepRow;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Post;
import io.micronaut.security.annotation.Secured;
import io.micronaut.security.authentication.Authentication;
import io.micronaut.security.rules.SecurityRule;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;

@Controller("/api/v1/sweeps")
@Secured(SecurityRule.IS_AUTHENTICATED)
@SecurityRequirement(name = "bearer")
@ApiDocs.SignedIn
public class SweepController {
    private final SweepService sweeps;

    public SweepController(SweepService sweeps) {
        this.sweeps = sweeps;
    }

    @Operation(operationId = "createSweep", summary = "Start a sweep", description = "body {\"name\", \"base\": SPEC, \"grid\": {\"optimizer.lr\": [0.1, 0.01]}}; "
            + "one job per point of the grid")
    @ApiDocs.BadRequest
    @ApiDocs.Refused
    @ApiDocs.TooMany
    @Post(consumes = MediaType.APPLICATION_JSON)
    public HttpResponse<ObjectNode> create(@Body String body, Authentication who) {
        SweepRow s = sweeps.create(Caller.of(who), body);
        return HttpResponse.created(sweeps.view(s.id()));
    }

    @Operation(operationId = "getSweep", summary = "A sweep's summary table with the best point")
    @ApiDocs.NoSuch
    @Get("/{id}")
    public ObjectNode get(long id) {
        return sweeps.view(id);
    }
}
