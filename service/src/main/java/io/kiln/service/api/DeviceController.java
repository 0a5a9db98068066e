package io.kiln.service.api;

import com.fasterxml.jackson.databind.node.ArrayNode;
import io.kiln.service.executor.JobExecutor;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.security.annotation.Secured;
import io.micronaut.security.rules.SecurityRule;
import io.swagger.v3.oas.annotations.Operation;

@Controller("/api/v1/devices")
@Secured(SecurityRule.IS_AUTHENTICATED)
@ApiDocs.SignedIn
public class DeviceController {
    private final JobExecutor executor;

    public DeviceController(JobExecutor executor) {
        this.executor = executor;
    }

    @Operation(operationId = "listDevices", summary = "GPUs (name, memory used/total, job running there) and the CPU; "
            + "with the SLURM executor, the partition's nodes with their CPUs, memory and GPUs")
    @Get
    public ArrayNode list() {
        return executor.devices();
    }
}
