package io.kiln.service.auth;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.security.authentication.Authentication;

/**
 * Who is asking: a user's name, whether they are an admin, and the token they came with ({@code tokenId} null for
 * KILN_ADMIN_TOKEN, which is no stored token).
 */
public record Caller(String name, boolean admin, @Nullable Long tokenId) {
    static final String TOKEN_ID = "tokenId";

    /** The caller an {@link Authentication} made by {@link BearerTokenAuthenticationFetcher} stands for. */
    public static Caller of(Authentication who) {
        Object id = who.getAttributes().get(TOKEN_ID);
        return new Caller(who.getName(), who.getRoles().contains(TokenService.ADMIN),
                id instanceof Number n ? n.longValue() : null);
    }

    /** "alice", or "alice (an admin)": how a refusal names the caller. */
    public String described() {
        return admin ? name + " (an admin)" : name;
    }
}
