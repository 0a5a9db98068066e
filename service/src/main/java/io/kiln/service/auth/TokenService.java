package io.kiln.service.auth;

import io.kiln.service.config.KilnConfig;
import io.kiln.service.store.TokenRepository;
import io.kiln.service.store.TokenRow;
import io.kiln.service.store.UserRepository;
import io.kiln.service.store.UserRow;
import io.kiln.service.errors.BadInput;
import io.kiln.service.errors.Conflict;
import io.kiln.service.errors.NotFound;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Users and their API tokens. Tokens are 32 random bytes shown once; only their SHA-256 is stored, which is
 * enough for high-entropy secrets (no salt or slow hash needed, unlike passwords). KILN_ADMIN_TOKEN is accepted
 * as the built-in user {@code admin} from start-up.
 */
@Singleton
public class TokenService {
    public static final String ADMIN = "admin";
    public static final String USER = "user";
    public static final List<String> ROLES = List.of(USER, ADMIN);
    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9._-]{0,63}");
    private final SecureRandom random = new SecureRandom();
    private final UserRepository users;
    private final TokenRepository tokens;
    private final KilnConfig config;

    public TokenService(UserRepository users, TokenRepository tokens, KilnConfig config) {
        this.users = users;
        this.tokens = tokens;
        this.config = config;
    }

    /** Who a bearer token belongs to, if anyone; answers are cached for {@link #CACHE_MILLIS}. */
    public Optional<UserRow> authenticate(String token) {
        if (token == null || token.isBlank()) {
            return Optional.empty();
        }
        String admin = config.adminToken();
        if (admin != null && MessageDigest.isEqual(admin.getBytes(StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8))) {
            return Optional.of(new UserRow(0L, ADMIN, ADMIN, Instant.EPOCH));
        }
        String h = hash(token);
        long now = System.currentTimeMillis();
        Cached c = cache.get(h);
        if (c == null || now - c.at() > CACHE_MILLIS) {
            c = new Cached(tokens.findByTokenHash(h).flatMap(t -> users.findById(t.userId())), now);
            if (cache.size() > 10_000) {
                cache.clear();
            }
            cache.put(h, c);
        }
        return c.user();
    }

    /** How long a token's owner (or its absence) is remembered. */
    static final long CACHE_MILLIS = 30_000;
    private final java.util.Map<String, Cached> cache = new java.util.concurrent.ConcurrentHashMap<>();

    private record Cached(Optional<UserRow> user, long at) {
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
        return users.save(new UserRow(null, name, role, Instant.now()));
    }

    /** A new token for a user; the returned text is the only copy. */
    @Transactional
    public String createToken(String userName, String label) {
        UserRow u = users.findByName(userName).orElseThrow(() ->
                new NotFound("no user " + userName));
        byte[] b = new byte[32];
        random.nextBytes(b);
        String token = "kiln_" + HexFormat.of().formatHex(b);
        String h = hash(token);
        tokens.save(new TokenRow(null, u.id(), h, label, Instant.now()));
        cache.remove(h);
        return token;
    }

    public Iterable<UserRow> users() {
        return users.findAll();
    }

    static String hash(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
