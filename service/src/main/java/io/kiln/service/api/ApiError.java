package io.kiln.service.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.micronaut.core.annotation.Nullable;
import io.swagger.v3.oas.annotations.media.Schema;

/** Every error answer of the service, whatever its status; built by {@link ApiErrors}. */
@Schema(name = "Error", description = "Every error answer (4xx and 5xx) has this shape.")
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ApiError(
        @Schema(description = "the HTTP status code, as in the status line", example = "403")
        int status,
        @Schema(description = "what went wrong, for a person: why, and who may or what to do instead",
                example = "job 7 belongs to alice and is not shared: its log is for alice and the admins only; alice "
                        + "or an admin may share it with PATCH /api/v1/jobs/7 {\"shared\": true}")
        String message,
        @Schema(description = "the request field at fault, where there is one: a job spec's path, a parameter, "
                + "a body field", example = "model.layers[1].units", nullable = true)
        @Nullable String field) {
}
