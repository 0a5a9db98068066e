package io.kiln.service.api;

import io.kiln.service.config.KilnLimits;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ServerFilter;

/**
 * Refuses a request by its declared length before its body is read: a JSON body over kiln.max-json-bytes (400,
 * as {@code jobs.RequestJson} answers one that arrives without a length), and a prediction request larger than
 * kiln.predict-max-images images of kiln.predict-max-image-bytes (413).
 */
@ServerFilter("/api/**")
public class RequestLimits {
    /** Room for a multipart request's boundaries and part headers, per image. */
    static final long PART_OVERHEAD = 4096;
    private final KilnLimits limits;

    public RequestLimits(KilnLimits limits) {
        this.limits = limits;
    }

    @RequestFilter
    @Nullable
    public HttpResponse<?> check(HttpRequest<?> request) {
        long length = request.getContentLength();
        if (length < 0) {
            return null;
        }
        boolean json = request.getContentType().map(t -> t.getSubtype().equals(MediaType.APPLICATION_JSON_TYPE.getSubtype()))
                .orElse(false);
        if (json && length > limits.maxJsonBytes()) {
            return ApiErrors.answer(HttpStatus.BAD_REQUEST, "body: is " + length + " bytes, larger than "
                    + limits.maxJsonBytes() + " (kiln.max-json-bytes)", "body");
        }
        long predictMax = limits.predictMaxImages() * (limits.predictMaxImageBytes() + PART_OVERHEAD);
        if (request.getPath().endsWith("/predict") && length > predictMax) {
            return ApiErrors.answer(HttpStatus.REQUEST_ENTITY_TOO_LARGE, "images: the request is " + length
                    + " bytes, more than " + limits.predictMaxImages() + " images of " + limits.predictMaxImageBytes()
                    + " bytes (kiln.predict-max-images, kiln.predict-max-image-bytes)", "images");
        }
        return null;
    }
}
