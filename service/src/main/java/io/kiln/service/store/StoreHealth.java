package io.kiln.service.store;

import io.kiln.service.errors.Unavailable;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.connection.exceptions.ConnectionException;
import io.micronaut.data.exceptions.DataAccessException;
import io.micronaut.transaction.exceptions.TransactionException;
import jakarta.inject.Singleton;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the job store can be written, as the last write told: UP, or DOWN since a write failed, until a write
 * succeeds again ({@link StoreProbe} tries one every kiln.store-probe-interval). While it is down, submissions
 * answer 503, /health says DOWN, and runs hold back what they would write ({@code scheduler.ProgressRecorder}). The
 * log says so once per change of state, not once per failed attempt.
 */
@Singleton
public class StoreHealth {
    private static final Logger LOG = LoggerFactory.getLogger(StoreHealth.class);

    /** What went wrong, and since when. */
    public record Down(String reason, Instant since) {
    }

    private volatile Down down;

    public boolean up() {
        return down == null;
    }

    /** Why the store is down and since when, if it is. */
    public Optional<Down> down() {
        return Optional.ofNullable(down);
    }

    /** A write failed for {@code cause}. */
    public synchronized void failed(Throwable cause) {
        if (down == null) {
            down = new Down(reason(cause), Instant.now());
            LOG.warn("job store DOWN: it cannot be written ({}); submissions are refused with 503 and running jobs "
                    + "hold back their metrics until it is back", down.reason());
        }
    }

    /** A write committed. */
    public synchronized void ok() {
        if (down != null) {
            LOG.info("job store UP again after {} s (down since {}: {})",
                    Duration.between(down.since(), Instant.now()).toSeconds(), down.since(), down.reason());
            down = null;
        }
    }

    /**
     * The refusal for a request that failed on the store, if the store is what failed (rather than a rule of the
     * database broken by the request itself); marks the store down.
     */
    public Optional<Unavailable> refusal(Throwable failure) {
        if (!isStoreFailure(failure)) {
            return Optional.empty();
        }
        failed(failure);
        return Optional.of(new Unavailable("the job store cannot be written just now (" + down().map(Down::reason)
                .orElse(reason(failure)) + "); nothing was saved, try again in a moment"));
    }

    /**
     * Whether {@code t} is the store failing: an SQL or connection error other than a constraint, a value or a
     * statement that the database refused (SQLSTATE classes 22, 23 and 42 are the request's or the code's fault).
     */
    public static boolean isStoreFailure(Throwable t) {
        boolean storeLayer = false;
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SQLException sql) {
                String state = sql.getSQLState();
                return state == null || !(state.startsWith("22") || state.startsWith("23") || state.startsWith("42"));
            }
            storeLayer |= c instanceof DataAccessException || c instanceof TransactionException
                    || c instanceof ConnectionException;
        }
        return storeLayer;
    }

    /** The innermost message, on one line: what the database said. */
    static String reason(@Nullable Throwable t) {
        String m = null;
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c.getMessage() != null) {
                m = c.getMessage();
            }
        }
        if (m == null) {
            return t == null ? "unknown" : t.getClass().getSimpleName();
        }
        m = m.lines().findFirst().orElse(m);
        return m.length() > 200 ? m.substring(0, 197) + "..." : m;
    }
}
