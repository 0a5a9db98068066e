package io.kiln.service.auth;

import io.micronaut.core.async.publisher.Publishers;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.security.authentication.Authentication;
import io.micronaut.security.filters.AuthenticationFetcher;
import jakarta.inject.Singleton;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.reactivestreams.Publisher;

/**
 * Turns {@code Authorization: Bearer TOKEN} into the token owner's identity, with their role. A refused token
 * leaves its reason on the request ({@link #REFUSAL}) for the 401 to give.
 */
@Singleton
public class BearerTokenAuthenticationFetcher implements AuthenticationFetcher<HttpRequest<?>> {
    /** The request attribute holding why a token was refused. */
    public static final String REFUSAL = "kiln.token.refusal";
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
        // that arrive after their headers and POSTs hung. The lookup is one indexed read (no cache: a revoked
        // token is refused at once, on every server sharing the database).
        return switch (tokens.authenticate(token)) {
            case TokenCheck.Accepted a -> {
                Map<String, Object> attributes = new HashMap<>();
                if (a.caller().tokenId() != null) {
                    attributes.put(Caller.TOKEN_ID, a.caller().tokenId());
                }
                yield Publishers.just(Authentication.build(a.caller().name(),
                        List.of(a.caller().admin() ? TokenService.ADMIN : TokenService.USER), attributes));
            }
            case TokenCheck.Refused r -> {
                request.setAttribute(REFUSAL, r.reason());
                yield Publishers.empty();
            }
        };
    }
}
