package io.kiln.service.api;

import io.kiln.engine.report.ClassificationReport;
import io.micronaut.core.order.Ordered;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.ResponseFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.micronaut.http.filter.ServerFilterPhase;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * Headers on every answer, errors included: no content sniffing, no framing, no referrer, and a
 * Content-Security-Policy that allows only what the page uses. The dashboard runs its own script and style files
 * and talks to this server; the report (a job's HTML page, also opened by the dashboard, whose policy it then
 * inherits) has no script at all, inline PNGs, and one fixed style block allowed by its hash. Everything else (JSON,
 * text, files) is allowed nothing.
 */
@ServerFilter(ServerFilter.MATCH_ALL_PATTERN)
public class SecurityHeaders implements Ordered {
    /** The SHA-256 source expression of the report's one style block ({@link ClassificationReport#CSS}). */
    static final String REPORT_STYLE = "'sha256-" + sha256(ClassificationReport.CSS) + "'";
    public static final String DASHBOARD_POLICY = "default-src 'none'; script-src 'self'; style-src 'self' " + REPORT_STYLE
            + "; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
    public static final String REPORT_POLICY = "default-src 'none'; img-src data:; style-src " + REPORT_STYLE
            + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    public static final String API_POLICY = "default-src 'none'; frame-ancestors 'none'";

    @Override
    public int getOrder() {
        // first in, last out: the headers go on whatever the later filters and handlers answered
        return ServerFilterPhase.FIRST.order();
    }

    @ResponseFilter
    public void headers(HttpRequest<?> request, MutableHttpResponse<?> response) {
        response.header("X-Content-Type-Options", "nosniff");
        response.header("X-Frame-Options", "DENY");
        response.header("Referrer-Policy", "no-referrer");
        if (!response.getHeaders().contains("Content-Security-Policy")) {
            // a static file's type is set after the filters run: the dashboard's pages are known by their path
            String path = request.getPath();
            boolean page = path.equals("/") || path.endsWith(".html")
                    || response.getContentType().map(t -> t.matches(MediaType.TEXT_HTML_TYPE)).orElse(false);
            response.header("Content-Security-Policy", page ? DASHBOARD_POLICY : API_POLICY);
        }
        if (request.getPath().startsWith("/api/") && !response.getHeaders().contains(HttpHeaders.CACHE_CONTROL)) {
            // answers hold a user's jobs and, once, a new token's secret: no shared cache keeps them
            response.header(HttpHeaders.CACHE_CONTROL, "no-store");
        }
    }

    private static String sha256(String text) {
        try {
            return Base64.getEncoder().encodeToString(MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
