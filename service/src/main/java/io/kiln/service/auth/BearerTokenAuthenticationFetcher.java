package io.kiln.service.auth;

import io.micronaut.core.async.publisher.Publishers;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.security.authentication.Authentication;
import io.micronaut.security.filters.AuthenticationFetcher;
import jakarta.inject.Singleton;
import java.util.List;
import java.util.Map;
import org.reactivestreams.Publisher;

/** Turns {@code Authorization: Bearer TOKEN} into the token owner's identity, with their role. */
@Singleton
public class BearerTokenAuthenticationFetcher implements AuthenticationFetcher<HttpRequest<?>> {
    private final TokenService tokens;

    public BearerTokenAuthenticationFetcher(TokenService tokens) {
        this.tokens = tokens;
    }

    @Override
    public Publisher<Authentication> fetchAuthentication(HttpRequest<?> request) {
        String header = request.getHeaders().get(HttpHeaders.AUTHORIZATION);
        String token = null;
        if (header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            token = header.substring(7).trim();
        } else if (request.getPath().endsWith("/events")) {
            // EventSource cannot send headers: the dashboard passes the token as a query parameter for SSE only.
            token = request.getParameters().get("token");
        }
        if (token == null) {
            return Publishers.empty();
        }
        // Answered synchronously: with the lookup moved to another thread, Netty stopped reading request bodies
        // that arrive after their headers and POSTs hung. Tokens are cached, so this rarely reads the database.
        return tokens.authenticate(token)
                .map(u -> Publishers.just(Authentication.build(u.name(), List.of(u.role()), Map.of("userId", u.id()))))
                .orElseGet(Publishers::empty);
    }
}
