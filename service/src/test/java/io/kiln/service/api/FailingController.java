package io.kiln.service.api;

import io.micronaut.context.annotation.Requires;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.security.annotation.Secured;
import io.micronaut.security.rules.SecurityRule;
import io.swagger.v3.oas.annotations.Hidden;

/**
 * A route that fails as a bug would, for tests of the 500 answer; only in test servers started with
 * {@code kiln.test.failing-route=on}.
 */
@Hidden
@Controller("/api/v1/test-failure")
@Requires(property = FailingController.PROPERTY, value = "on")
@Secured(SecurityRule.IS_AUTHENTICATED)
public class FailingController {
    public static final String PROPERTY = "kiln.test.failing-route";
    public static final String SECRET = "/home/alice/secret-notes";

    @Get
    public String fail() {
        throw new IllegalStateException("a bug that quotes " + SECRET);
    }
}
