package io.kiln.service.api;

import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The error answers of the OpenAPI document, each an {@link ApiError}: one annotation per status, put on the
 * operations (or whole controllers) that can give it, so that every operation documents its refusals.
 */
final class ApiDocs {
    private ApiDocs() {
    }

    /** Every operation that needs a token: the bearer scheme, and 401, 500 and 503. */
    @Documented
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD})
    @SecurityRequirement(name = "bearer")
    @ApiResponse(responseCode = "401", description = "No valid token: missing, unknown, revoked or expired, or its "
            + "user is disabled; the message says which",
            content = @Content(mediaType = ApiErrors.MEDIA_TYPE, schema = @Schema(implementation = ApiError.class)))
    @ApiResponse(responseCode = "500", description = "The service failed; the message gives a reference that its "
            + "log has", content = @Content(mediaType = ApiErrors.MEDIA_TYPE, schema = @Schema(implementation = ApiError.class)))
    @ApiResponse(responseCode = "503", description = "The job store cannot be written just now; nothing was saved, "
            + "trying again later helps", content = @Content(mediaType = ApiErrors.MEDIA_TYPE,
            schema = @Schema(implementation = ApiError.class)))
    @interface SignedIn {
    }

    @Documented
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD})
    @ApiResponse(responseCode = "400", description = "A bad request: the message names the field (a spec path, a "
            + "parameter, a body field) and the rule, and field holds the field",
            content = @Content(mediaType = ApiErrors.MEDIA_TYPE, schema = @Schema(implementation = ApiError.class)))
    @interface BadRequest {
    }

    @Documented
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD})
    @ApiResponse(responseCode = "403", description = "Refused: the caller may not do this (a job not theirs and not "
            + "shared, or something only its owner or an admin may do); the message says why and who may",
            content = @Content(mediaType = ApiErrors.MEDIA_TYPE, schema = @Schema(implementation = ApiError.class)))
    @interface Refused {
    }

    @Documented
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD})
    @ApiResponse(responseCode = "403", description = "Refused: only an admin may do this",
            content = @Content(mediaType = ApiErrors.MEDIA_TYPE, schema = @Schema(implementation = ApiError.class)))
    @interface AdminOnly {
    }

    @Documented
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD})
    @ApiResponse(responseCode = "404", description = "No such thing (job, sweep, user, token, checkpoint); the "
            + "message says which", content = @Content(mediaType = ApiErrors.MEDIA_TYPE,
            schema = @Schema(implementation = ApiError.class)))
    @interface NoSuch {
    }

    @Documented
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD})
    @ApiResponse(responseCode = "409", description = "The request does not fit the current state (the job has "
            + "ended, the name is taken, its data cannot be read)", content = @Content(mediaType = ApiErrors.MEDIA_TYPE,
            schema = @Schema(implementation = ApiError.class)))
    @interface Conflicting {
    }

    @Documented
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD})
    @ApiResponse(responseCode = "429", description = "A limit is reached (a user's queued jobs, uploads at once); "
            + "waiting helps",
            content = @Content(mediaType = ApiErrors.MEDIA_TYPE, schema = @Schema(implementation = ApiError.class)))
    @interface TooMany {
    }

    @Documented
    @Retention(RetentionPolicy.RUNTIME)
    @Target({ElementType.TYPE, ElementType.METHOD})
    @ApiResponse(responseCode = "413", description = "A payload larger than its limit (an archive, an image); the "
            + "message gives both sizes and the setting", content = @Content(mediaType = ApiErrors.MEDIA_TYPE,
            schema = @Schema(implementation = ApiError.class)))
    @interface TooLargeBody {
    }
}
