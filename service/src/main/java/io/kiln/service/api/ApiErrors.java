package io.kiln.service.api;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.spec.SpecException;
import io.micronaut.context.annotation.Replaces;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.exceptions.HttpStatusException;
import io.micronaut.http.server.exceptions.ExceptionHandler;
import io.micronaut.http.server.exceptions.HttpStatusHandler;
import jakarta.inject.Singleton;

/**
 * Error answers as {@code {"status", "message", "field"}}: a broken spec rule is a 400 naming the field; other
 * refusals carry their own message rather than the status's generic reason.
 */
public final class ApiErrors {
    private ApiErrors() {
    }

    static ObjectNode body(int status, String message, String field) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("status", status);
        n.put("message", message);
        if (field != null) {
            n.put("field", field);
        }
        return n;
    }

    @Singleton
    @Requires(classes = SpecException.class)
    public static class SpecExceptionHandler implements ExceptionHandler<SpecException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, SpecException e) {
            return HttpResponse.badRequest(body(400, e.getMessage(), e.field()));
        }
    }

    @Singleton
    @Replaces(HttpStatusHandler.class)
    public static class StatusHandler implements ExceptionHandler<HttpStatusException, HttpResponse<?>> {
        @Override
        public HttpResponse<?> handle(HttpRequest request, HttpStatusException e) {
            String message = e.getMessage();
            String field = null;
            int colon = message == null ? -1 : message.indexOf(": ");
            if (e.getStatus().getCode() == 400 && colon > 0 && !message.substring(0, colon).contains(" ")) {
                field = message.substring(0, colon);
            }
            return HttpResponse.status(e.getStatus()).body(body(e.getStatus().getCode(), message, field));
        }
    }
}
