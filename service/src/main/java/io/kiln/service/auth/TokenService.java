package io.kiln.service.auth;

import io.kiln.service.config.KilnConfig;
import io.kiln.service.store.StoreHealth;
import io.kiln.service.errors.BadInput;
import io.kiln.service.errors.Conflict;
import io.kiln.service.errors.Forbidden;
import io.kiln.service.errors.NotFound;
import io.kiln.service.store.TokenRepository;
import io.kiln.service.store.TokenRow;
import io.kiln.service.store.UserRepository;
import io.kiln.service.store.UserRow;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Users and their API tokens. Tokens are 32 random bytes shown once; only their SHA-256 is stored, which is
 * enough for high-entropy secrets (no salt or slow hash needed, unlike passwords). KILN_ADMIN_TOKEN is accepted
 * as the built-in user {@code admin} from start-up.
 *
 * <p>Nothing about a token is cached: each request reads its row and its user's, so a revoked token, an expired
 * one and a disabled user's are refused from the next request on, on every server sharing the database.
 */
@Singleton
public class TokenService {
    public static final String ADMIN = "admin";
    public static final String USER = "user";
    public static final List<String> ROLES = List.of(USER, ADMIN);
    /** The most days a token may be valid for ({@code expiresInDays}): ten years. */
    public static final int MAX_EXPIRES_IN_DAYS = 3650;
    /** The longest label (the column's width). */
    public static final int MAX_LABEL = 100;
    /** The longest user name (the column's width). */
    public static final int MAX_USER_NAME = 64;
    /** How stale a token's {@code lastUsedAt} may get: written at most this often, not on every request. */
    static final Duration LAST_USED_PRECISION = Duration.ofMinutes(1);
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9._-]{0,63}");
    private final SecureRandom random = new SecureRandom();
    private final UserRepository users;
    private final TokenRepository tokens;
    private final KilnConfig config;
    private final StoreHealth health;

    public TokenService(UserRepository users, TokenRepository tokens, KilnConfig config, StoreHealth health) {
        this.users = users;
        this.tokens = tokens;
        this.config = config;
        this.health = health;
    }

    /** A token that has just been made: its row and the secret, which is shown this once. */
    public record NewToken(TokenRow row, String secret) {
    }

    /** Who a bearer token belongs to, or why it is refused (unknown or revoked, expired, its user disabled). */
    public TokenCheck authenticate(String token) {
        if (token == null || token.isBlank()) {
            return new TokenCheck.Refused("the Authorization header has no token after \"Bearer\"");
        }
        String admin = config.adminToken();
        if (admin != null && MessageDigest.isEqual(admin.getBytes(StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8))) {
            return new TokenCheck.Accepted(new Caller(ADMIN, true, null));
        }
        Optional<TokenRow> row = tokens.findByTokenHash(hash(token));
        if (row.isEmpty()) {
            return new TokenCheck.Refused("this token is unknown or was revoked; ask an admin for a new one");
        }
        TokenRow t = row.get();
        Instant now = Instant.now();
        if (t.expiresAt() != null && !now.isBefore(t.expiresAt())) {
            return new TokenCheck.Refused("this token expired at " + t.expiresAt() + "; ask an admin for a new one");
        }
        Optional<UserRow> user = users.findById(t.userId());
        if (user.isEmpty()) {
            return new TokenCheck.Refused("this token is unknown or was revoked; ask an admin for a new one");
        }
        if (user.get().disabled()) {
            return new TokenCheck.Refused("user " + user.get().name() + " is disabled; an admin may enable them again");
        }
        if (t.lastUsedAt() == null || t.lastUsedAt().plus(LAST_USED_PRECISION).isBefore(now)) {
            noteUse(t, now);
        }
        return new TokenCheck.Accepted(new Caller(user.get().name(), ADMIN.equals(user.get().role()), t.id()));
    }

    /** Writes the token's last use, unless the store cannot be written: a valid token is not refused for that. */
    private void noteUse(TokenRow t, Instant now) {
        if (!health.up()) {
            return;
        }
        try {
            tokens.updateLastUsed(t.id(), now);
        } catch (RuntimeException e) {
            if (!StoreHealth.isStoreFailure(e)) {
                throw e;
            }
            health.failed(e);
        }
    }

    @Transactional
    public UserRow createUser(String name, String role) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new BadInput("name", "must be 1 to 64 lower-case letters, digits, '.', '_' or '-', starting with a letter");
        }
        if (!ROLES.contains(role)) {
            throw new BadInput("role", "must be one of " + ROLES);
        }
        if (name.equals(ADMIN) || users.findByName(name).isPresent()) {
            throw new Conflict("name", "user " + name + " already exists");
        }
        return users.save(new UserRow(null, name, role, Instant.now(), false));
    }

    public Iterable<UserRow> users() {
        return users.findAll();
    }

    /** Disables a user (all their tokens answer 401 from the next request on) or enables them again. */
    @Transactional
    public UserRow setDisabled(String name, boolean disabled) {
        UserRow u = user(name);
        users.updateDisabled(u.id(), disabled);
        return user(name);
    }

    /**
     * A new token for a user, valid for {@code expiresInDays} days (null: until revoked); the secret is the only
     * copy.
     */
    @Transactional
    public NewToken createToken(String userName, @Nullable String label, @Nullable Integer expiresInDays) {
        UserRow u = user(userName);
        if (label != null && label.length() > MAX_LABEL) {
            throw new BadInput("label", "at most " + MAX_LABEL + " characters, got " + label.length());
        }
        if (expiresInDays != null && (expiresInDays < 1 || expiresInDays > MAX_EXPIRES_IN_DAYS)) {
            throw new BadInput("expiresInDays", "must be a whole number of days from 1 to " + MAX_EXPIRES_IN_DAYS
                    + " (leave it out for a token valid until revoked), got " + expiresInDays);
        }
        byte[] b = new byte[32];
        random.nextBytes(b);
        String secret = "kiln_" + HexFormat.of().formatHex(b);
        Instant now = Instant.now();
        TokenRow row = tokens.save(new TokenRow(null, u.id(), hash(secret), label, now,
                expiresInDays == null ? null : now.plus(Duration.ofDays(expiresInDays)), null));
        return new NewToken(row, secret);
    }

    /** A user's tokens, oldest first, for the user themselves or an admin. */
    public List<TokenRow> tokensOf(String userName, Caller caller) {
        mayManageTokens(userName, caller, "see");
        return tokens.findByUserIdOrderById(user(userName).id());
    }

    /** Revokes one of a user's tokens, for the user themselves or an admin: it answers 401 from now on. */
    @Transactional
    public void revoke(String userName, long tokenId, Caller caller) {
        mayManageTokens(userName, caller, "revoke");
        if (tokens.deleteOfUser(tokenId, user(userName).id()) == 0) {
            throw new NotFound("user " + userName + " has no token " + tokenId
                    + " (GET /api/v1/users/" + userName + "/tokens lists them)");
        }
    }

    /** The stored token a caller came with; empty for KILN_ADMIN_TOKEN. */
    public Optional<TokenRow> tokenInUse(Caller caller) {
        return caller.tokenId() == null ? Optional.empty() : tokens.findById(caller.tokenId());
    }

    private void mayManageTokens(String userName, Caller caller, String verb) {
        if (!caller.admin() && !caller.name().equals(userName)) {
            throw new Forbidden("the tokens of " + userName + " are for " + userName + " and the admins to " + verb
                    + "; you are " + caller.name());
        }
    }

    private UserRow user(String name) {
        if (ADMIN.equals(name)) {
            throw new Conflict("user admin is the built-in admin of KILN_ADMIN_TOKEN and has no stored tokens; "
                    + "change or unset KILN_ADMIN_TOKEN and restart the service instead");
        }
        return users.findByName(name).orElseThrow(() -> new NotFound("no user " + name));
    }

    static String hash(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
