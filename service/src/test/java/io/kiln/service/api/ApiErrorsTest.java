package io.kiln.service.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.spec.SpecException;
import io.kiln.service.errors.BadInput;
import io.kiln.service.errors.Conflict;
import io.kiln.service.errors.Forbidden;
import io.kiln.service.errors.LimitReached;
import io.kiln.service.errors.NotFound;
import io.kiln.service.errors.ServiceException;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.exceptions.HttpStatusException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Each refusal of the services becomes its status, with the field the exception names, not one read from text. */
@Timeout(10)
class ApiErrorsTest {
    static ObjectNode body(HttpResponse<?> r) {
        return (ObjectNode) r.body();
    }

    static HttpResponse<?> answer(ServiceException e) {
        return new ApiErrors.ServiceExceptionHandler().handle(HttpRequest.GET("/"), e);
    }

    @Test
    void serviceRefusalsGetTheirStatusAndField() {
        HttpResponse<?> bad = answer(new BadInput("state", "must be one of QUEUED, RUNNING"));
        assertEquals(400, bad.code());
        assertEquals("state", body(bad).get("field").asText());
        assertEquals("state: must be one of QUEUED, RUNNING", body(bad).get("message").asText());
        assertEquals(400, body(bad).get("status").asInt());

        assertEquals(404, answer(new NotFound("no job 7")).code());
        assertEquals(403, answer(new Forbidden("only an admin may set a priority")).code());
        assertEquals(429, answer(new LimitReached("user ann already has 100 queued jobs")).code());
        HttpResponse<?> taken = answer(new Conflict("name", "dataset tiny already exists"));
        assertEquals(409, taken.code());
        assertEquals("name", body(taken).get("field").asText());
        assertFalse(body(answer(new NotFound("no job 7"))).has("field"), "no field where none is known");
    }

    @Test
    void aBrokenSpecRuleIsA400NamingTheField() {
        HttpResponse<?> r = new ApiErrors.SpecExceptionHandler().handle(HttpRequest.GET("/"),
                new SpecException("model.layers[1].units", "must be at least 1"));
        assertEquals(400, r.code());
        assertEquals("model.layers[1].units", body(r).get("field").asText());
    }

    @Test
    void aFrameworkRefusalKeepsItsMessageAndIsNotParsedForAField() {
        HttpResponse<?> r = new ApiErrors.StatusHandler().handle(HttpRequest.GET("/"),
                new HttpStatusException(HttpStatus.BAD_REQUEST, "size: looks like a field"));
        assertEquals(400, r.code());
        assertEquals("size: looks like a field", body(r).get("message").asText());
        assertFalse(body(r).has("field"));
    }
}
