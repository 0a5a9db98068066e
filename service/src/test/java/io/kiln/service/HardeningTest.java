package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.service.api.FailingController;
import io.kiln.service.api.SecurityHeaders;
import java.io.IOException;
import java.net.URISyntaxException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * What every answer carries and never carries, over real HTTP: security headers on pages, API answers and errors
 * alike; every error (400 to 500) in one JSON shape with a message for a person, never quoting the request's URL
 * (a token may ride in its query), a token, or a stack trace; management endpoints off.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class HardeningTest {
    static final String TOKEN_IN_URL = "kiln_" + "5ec7e7".repeat(10) + "abcd";
    @AutoClose
    KilnServer kiln;
    String user;

    @BeforeAll
    void start() throws IOException {
        // no slot: submitted jobs stay queued, so the queue limit is reached at once
        kiln = KilnServer.onTinyData("kiln-hardening", 100, 40, Map.of("kiln.cpu-slot", "off",
                "kiln.max-queued-per-user", "1", "micronaut.server.max-request-size", "100000",
                FailingController.PROPERTY, "on"));
        user = kiln.user("ursula", "user");
    }

    HttpResponse<String> send(String method, String path, String token, String contentType, String body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(kiln.uri(path)).method(method,
                body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        if (contentType != null) {
            b.header("Content-Type", contentType);
        }
        return kiln.exchange(b);
    }

    static void securityHeaders(HttpResponse<String> r, String what) {
        assertEquals("nosniff", r.headers().firstValue("X-Content-Type-Options").orElse(null), what);
        assertEquals("DENY", r.headers().firstValue("X-Frame-Options").orElse(null), what);
        String csp = r.headers().firstValue("Content-Security-Policy").orElse("");
        assertTrue(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), what + ": " + csp);
        assertFalse(csp.contains("unsafe-inline") || csp.contains("unsafe-eval") || csp.contains("*"), what + ": " + csp);
    }

    /** An error in the one shape, with nothing of the request in it; returns its body. */
    static JsonNode oneShape(HttpResponse<String> r, int status, String path) {
        assertEquals(status, r.statusCode(), path + ": " + r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), path);
        JsonNode n = new KilnServer.Answer(r.statusCode(), r.body()).json();
        assertEquals(status, n.path("status").asInt(), r.body());
        assertTrue(n.path("message").asText().length() > 10, r.body());
        n.fieldNames().forEachRemaining(f -> assertTrue(List.of("status", "message", "field").contains(f), r.body()));
        assertFalse(r.body().contains(path) || r.body().contains(TOKEN_IN_URL) || r.body().contains("5ec7e7"),
                "no URL, no token: " + r.body());
        assertFalse(r.body().contains("Exception") || r.body().contains("\tat ") || r.body().contains("_links"), r.body());
        securityHeaders(r, path);
        return n;
    }

    @Test
    void pagesAndAnswersCarrySecurityHeaders() {
        for (String page : List.of("/", "/index.html")) {
            HttpResponse<String> r = send("GET", page, null, null, null);
            assertEquals(200, r.statusCode());
            securityHeaders(r, page);
            assertEquals(SecurityHeaders.DASHBOARD_POLICY, r.headers().firstValue("Content-Security-Policy").orElse(""));
            assertTrue(SecurityHeaders.DASHBOARD_POLICY.contains("script-src 'self';"), "the dashboard's own files only");
            assertFalse(r.body().contains("<script>") || r.body().contains(" style=") || r.body().contains(" onclick="),
                    "no inline script or style in the page, which its policy would refuse");
        }
        for (String path : List.of("/assets/js/main.js", "/assets/app.css", "/openapi/kiln-1.yml", "/health", "/prometheus")) {
            HttpResponse<String> r = send("GET", path, null, null, null);
            assertEquals(200, r.statusCode(), path);
            securityHeaders(r, path);
        }
        HttpResponse<String> api = send("GET", "/api/v1/jobs", user, null, null);
        assertEquals(200, api.statusCode());
        securityHeaders(api, "/api/v1/jobs");
        assertEquals(SecurityHeaders.API_POLICY, api.headers().firstValue("Content-Security-Policy").orElse(""));
        assertEquals("no-store", api.headers().firstValue("Cache-Control").orElse(""));
    }

    /**
     * The browser runs a module script only when it comes with a JavaScript type (nosniff forbids a guess): every
     * module of the dashboard is served so, to anyone (the page loads them before a token is entered).
     */
    @Test
    void dashboardModulesAreServedAsJavaScript() throws IOException, URISyntaxException {
        Path modules = Path.of(getClass().getResource("/dashboard/assets/js/main.js").toURI()).getParent();
        List<String> names;
        try (Stream<Path> files = Files.list(modules)) {
            names = files.map(f -> f.getFileName().toString()).sorted().toList();
        }
        assertTrue(names.size() > 5 && names.stream().allMatch(n -> n.endsWith(".js")), names.toString());
        for (String name : names) {
            String path = "/assets/js/" + name;
            HttpResponse<String> r = send("GET", path, null, null, null);
            assertEquals(200, r.statusCode(), path);
            String type = r.headers().firstValue("Content-Type").orElse("");
            assertTrue(type.startsWith("application/javascript") || type.startsWith("text/javascript"), path + ": " + type);
            securityHeaders(r, path);
            // each import names a module that is here, so a renamed file cannot leave the page half loaded
            Matcher imports = Pattern.compile("from \"\\./([^\"]+)\"").matcher(r.body());
            while (imports.find()) {
                assertTrue(names.contains(imports.group(1)), path + " imports " + imports.group(1));
            }
        }
    }

    @Test
    void everyErrorHasOneShapeAndQuotesNothingOfTheRequest() {
        String events = "/api/v1/jobs/1/events?token=" + TOKEN_IN_URL;
        assertTrue(oneShape(send("GET", events, null, null, null), 401, events).get("message").asText()
                .contains("unknown or was revoked"));
        String query = "/api/v1/jobs?token=" + TOKEN_IN_URL;
        assertTrue(oneShape(send("GET", query, null, null, null), 401, query).get("message").asText()
                .contains("Authorization: Bearer TOKEN"), "a token in a query counts only for /events");
        oneShape(send("GET", "/api/v1/jobs", TOKEN_IN_URL, null, null), 401, "/api/v1/jobs");
        oneShape(send("GET", "/api/v1/users?x=" + TOKEN_IN_URL, user, null, null), 403, "/api/v1/users?x=");
        oneShape(send("GET", "/api/v1/jobs/424242", user, null, null), 404, "/api/v1/jobs/424242");
        String missing = "/api/v1/no-such-thing?token=" + TOKEN_IN_URL;
        oneShape(send("GET", missing, user, null, null), 404, missing);
        oneShape(send("GET", "/nowhere/" + TOKEN_IN_URL, null, null, null), 404, "/nowhere/");

        HttpResponse<String> notAllowed = send("DELETE", "/api/v1/jobs/1?token=" + TOKEN_IN_URL, user, null, null);
        assertEquals("DELETE is not allowed here; this path answers GET, HEAD, PATCH",
                oneShape(notAllowed, 405, "/api/v1/jobs/1?").get("message").asText());
        assertTrue(notAllowed.headers().firstValue("Allow").orElse("").contains("PATCH"));

        JsonNode badId = oneShape(send("GET", "/api/v1/jobs/abc", user, null, null), 400, "/api/v1/jobs/abc");
        assertEquals("id", badId.get("field").asText());
        assertEquals("id: cannot be read as a whole number", badId.get("message").asText());
        oneShape(send("POST", "/api/v1/jobs", user, "text/plain", "{}"), 415, "/api/v1/jobs?");
        oneShape(send("POST", "/api/v1/jobs", user, "application/json", "{\"name\": \"" + "x".repeat(200_000) + "\"}"),
                413, "/api/v1/jobs?");

        assertEquals(201, send("POST", "/api/v1/jobs", user, "application/json", TestData.spec("q", "tiny", 1)).statusCode());
        oneShape(send("POST", "/api/v1/jobs", user, "application/json", TestData.spec("q", "tiny", 1)), 429, "/api/v1/jobs?");

        JsonNode failed = oneShape(send("GET", "/api/v1/test-failure", user, null, null), 500, "/api/v1/test-failure");
        assertTrue(failed.get("message").asText().matches(".*reference [0-9a-f]{8}"), failed.toString());
        assertFalse(failed.toString().contains(FailingController.SECRET) || failed.toString().contains("bug"),
                "nothing of the exception: " + failed);
    }

    @Test
    void managementEndpointsAreOff() {
        for (String token : new String[] {null, user, KilnServer.ADMIN}) {
            for (String path : List.of("/beans", "/routes", "/env", "/loggers", "/threaddump", "/info", "/caches",
                    "/metrics", "/flyway")) {
                oneShape(send("GET", path, token, null, null), 404, path);
            }
            for (String path : List.of("/refresh", "/stop")) {
                oneShape(send("POST", path, token, "application/json", "{}"), 404, path);
            }
        }
        HttpResponse<String> health = send("GET", "/health", user, null, null);
        assertEquals(200, health.statusCode());
        assertEquals("{\"status\":\"UP\"}", health.body().replace("\"name\":\"kiln\",", ""),
                "a user sees the status, not the database URL");
        assertTrue(send("GET", "/health", KilnServer.ADMIN, null, null).body().contains("jdbc"), "an admin sees the details");
    }
}
