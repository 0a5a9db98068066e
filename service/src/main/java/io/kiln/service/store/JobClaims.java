package io.kiln.service.store;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.jdbc.runtime.JdbcOperations;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;

/**
 * Claims a queued job for this server. On PostgreSQL, several servers share the queue: the row is locked with
 * {@code SELECT ... FOR UPDATE SKIP LOCKED}, so a server never waits on a job another is claiming and each job
 * is claimed once. The update also checks the state, which keeps the embedded H2 store (one server) correct.
 */
@Singleton
public class JobClaims {
    private final JdbcOperations jdbc;
    private volatile Boolean postgres;

    public JobClaims(JdbcOperations jdbc) {
        this.jdbc = jdbc;
    }

    /** The waiting reason of a job claimed for a batch system's queue until the batch system answers. */
    public static final String SUBMITTING = "being submitted";

    /**
     * Claims job {@code id} for a slot; false when another server (or a cancel) got there first. A job claimed for a
     * batch system's queue gets a {@code waitingReason}: it shows as queued until the batch system starts it.
     */
    @Transactional
    public boolean claim(long id, String device, String serverId, Instant now, @Nullable String waitingReason) {
        return jdbc.execute(conn -> {
            String lock = postgres(conn) ? " FOR UPDATE SKIP LOCKED" : " FOR UPDATE";
            try (PreparedStatement ps = conn.prepareStatement("SELECT id FROM jobs WHERE id = ? AND state = 'QUEUED'" + lock)) {
                ps.setLong(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        return false;
                    }
                }
            }
            try (PreparedStatement ps = conn.prepareStatement("UPDATE jobs SET state = 'RUNNING', device = ?, server_id = ?, "
                    + "heartbeat_at = ?, started_at = COALESCE(started_at, ?), attempt_started_at = ?, "
                    + "attempt_start_epoch = checkpoint_epoch, attempts = attempts + 1, error = NULL, cancel_requested = FALSE, "
                    + "waiting_reason = ? WHERE id = ? AND state = 'QUEUED'")) {
                OffsetDateTime t = OffsetDateTime.ofInstant(now, ZoneOffset.UTC);
                ps.setString(1, device);
                ps.setString(2, serverId);
                ps.setObject(3, t);
                // A run a batch system holds back has not started: it starts when the batch system runs it.
                ps.setObject(4, waitingReason == null ? t : null);
                ps.setObject(5, waitingReason == null ? t : null);
                ps.setString(6, waitingReason);
                ps.setLong(7, id);
                return ps.executeUpdate() == 1;
            }
        });
    }

    private boolean postgres(Connection conn) throws SQLException {
        if (postgres == null) {
            postgres = conn.getMetaData().getDatabaseProductName().toLowerCase(java.util.Locale.ROOT).contains("postgres");
        }
        return postgres;
    }
}
