package io.kiln.service.api;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.spec.SpecException;
import io.kiln.service.errors.BadInput;
import io.kiln.service.errors.Conflict;
import io.kiln.service.errors.Forbidden;
import io.kiln.service.errors.LimitReached;
import io.kiln.service.errors.NotFound;
import io.kiln.service.errors.ServiceException;
import io.micronaut.context.annotation.Replaces;
import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.exceptions.HttpStatusException;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import io.micronaut.http.server.exceptions.HttpStatusHandler;
import jakarta.inject.Singleton;

/**
 * Error answers, one shape for all: {@code {"status", "message", "field"}}, {@code field} where the refusal names
 * a request field (a broken spec rule, a bad parameter, a bad upload). The services refuse in their own terms
 * ({@link ServiceException}s, the engine's {@link SpecException}); here each becomes its status.
 */
public final class ApiErrors {
    private ApiErrors() {
    }

    static ObjectNode body(int status, String message, @Nullable String field) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("status", status);
        n.put("message", message);
        if (field != null) {
            n.put("field", field);
        }
        return n;
    }

    static HttpStatus status(ServiceException e) {
        return switch (e) {
            case BadInput b -> HttpStatus.BAD_REQUEST;
            case NotFound n -> HttpStatus.NOT_FOUND;
            case Forbidden f -> HttpStatus.FORBIDDEN;
            case Conflict c -> HttpStatus.CONFLICT;
            case LimitReached l -> HttpStatus.TOO_MANY_REQUESTS;
        };
    }

    private static HttpResponse<?> answer(HttpStatus status, String message, @Nullable String field) {
        return HttpResponse.status(status).body(body(status.getCode(), message, field));
    }

    @Singleton
    public static class ServiceExceptionHandler implements ExceptionHandler<ServiceException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, ServiceException e) {
            return answer(status(e), e.getMessage(), e.field());
        }
    }

    @Singleton
    @Requires(classes = SpecException.class)
    public static class SpecExceptionHandler implements ExceptionHandler<SpecException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, SpecException e) {
            return answer(HttpStatus.BAD_REQUEST, e.getMessage(), e.field());
        }
    }

    /** The framework's own refusals (no route, a body it cannot read): their message, in the same shape. */
    @Singleton
    @Replaces(HttpStatusHandler.class)
    public static class StatusHandler implements ExceptionHandler<HttpStatusException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, HttpStatusException e) {
            return answer(e.getStatus(), e.getMessage(), null);
        }
    }
}
