package io.kiln.service.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.spec.SpecException;
import io.kiln.service.errors.BadInput;
import io.kiln.service.errors.Conflict;
import io.kiln.service.errors.Forbidden;
import io.kiln.service.errors.LimitReached;
import io.kiln.service.errors.NotFound;
import io.kiln.service.errors.ServiceException;
import io.kiln.service.errors.TooLarge;
import io.kiln.service.errors.Unavailable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.exceptions.HttpStatusException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Each refusal of the services becomes its status, with the field the exception names, not one read from text. */
@Timeout(10)
class ApiErrorsTest {
    static ApiError body(HttpResponse<?> r) {
        return (ApiError) r.body();
    }

    static HttpResponse<?> answer(ServiceException e) {
        return new ApiErrors.ServiceExceptionHandler().handle(HttpRequest.GET("/"), e);
    }

    @Test
    void serviceRefusalsGetTheirStatusAndField() {
        HttpResponse<?> bad = answer(new BadInput("state", "must be one of QUEUED, RUNNING"));
        assertEquals(400, bad.code());
        assertEquals("state", body(bad).field());
        assertEquals("state: must be one of QUEUED, RUNNING", body(bad).message());
        assertEquals(400, body(bad).status());

        assertEquals(404, answer(new NotFound("no job 7")).code());
        assertEquals(403, answer(new Forbidden("only an admin may set a priority")).code());
        assertEquals(429, answer(new LimitReached("user ann already has 100 queued jobs")).code());
        HttpResponse<?> taken = answer(new Conflict("name", "dataset tiny already exists"));
        assertEquals(409, taken.code());
        assertEquals("name", body(taken).field());
        assertNull(body(answer(new NotFound("no job 7"))).field(), "no field where none is known");
        HttpResponse<?> big = answer(new TooLarge("file", "the archive is larger than 2.0 GiB"));
        assertEquals(413, big.code());
        assertEquals("file", body(big).field());
        assertEquals(503, answer(new Unavailable("the job store cannot be written just now")).code());
    }

    @Test
    void aBrokenSpecRuleIsA400NamingTheField() {
        HttpResponse<?> r = new ApiErrors.SpecExceptionHandler().handle(HttpRequest.GET("/"),
                new SpecException("model.layers[1].units", "must be at least 1"));
        assertEquals(400, r.code());
        assertEquals("model.layers[1].units", body(r).field());
    }

    @Test
    void aFrameworkRefusalKeepsItsMessageAndIsNotParsedForAField() {
        HttpResponse<?> r = new ApiErrors.StatusHandler(new ApiErrors.Responses()).handle(HttpRequest.GET("/"),
                new HttpStatusException(HttpStatus.BAD_REQUEST, "size: looks like a field"));
        assertEquals(400, r.code());
        assertEquals("size: looks like a field", body(r).message());
        assertNull(body(r).field());
    }

    @Test
    void aTokenInAMessageIsMasked() {
        String token = "kiln_" + "0123456789abcdef".repeat(4);
        HttpResponse<?> r = answer(new BadInput("label", "cannot be " + token + " or ?token=secret&x=1"));
        assertEquals("label: cannot be kiln_... or ?token=...&x=1", body(r).message());
    }

    @Test
    void aFailureGivesAReferenceAndNoneOfTheExceptionsText() {
        HttpResponse<?> r = new ApiErrors.Responses().processResponse(
                io.micronaut.http.server.exceptions.response.ErrorContext.builder(HttpRequest.GET("/api/v1/jobs?token=x"))
                        .cause(new IllegalStateException("secret detail at /home/alice")).errorMessage("boom").build(),
                HttpResponse.serverError());
        assertEquals(500, r.code());
        String message = body(r).message();
        assertTrue(message.matches("the service failed to answer \\(500 Internal Server Error\\); its log has the "
                + "details under reference [0-9a-f]{8}"), message);
    }
}
