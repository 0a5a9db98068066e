package io.kiln.service.store;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.jdbc.runtime.JdbcOperations;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;

/** Queries with optional filters that derived repository methods cannot express. */
@Singleton
public class JobQueries {
    private final JdbcOperations jdbc;

    public JobQueries(JdbcOperations jdbc) {
        this.jdbc = jdbc;
    }

    public record Page(List<JobRow> jobs, long total) {
    }

    /**
     * Which jobs a list shows; a null part does not filter. {@code state} is the state as users see it (a claimed
     * job that a batch system still holds back is queued), {@code name} matches a part of the name, whatever its
     * case; {@code sweep} is a sweep's id.
     */
    public record Filter(@Nullable String state, @Nullable String user, @Nullable String name, @Nullable Long sweep) {
    }

    /** Jobs, newest first, that pass the filter. */
    @Transactional(readOnly = true)
    public Page list(Filter filter, int page, int size) {
        StringBuilder where = new StringBuilder(" WHERE 1 = 1");
        List<Object> args = new ArrayList<>();
        if ("QUEUED".equals(filter.state())) {
            where.append(" AND (state = 'QUEUED' OR (state = 'RUNNING' AND waiting_reason IS NOT NULL))");
        } else if ("RUNNING".equals(filter.state())) {
            where.append(" AND state = 'RUNNING' AND waiting_reason IS NULL");
        } else if (filter.state() != null) {
            where.append(" AND state = ?");
            args.add(filter.state());
        }
        if (filter.user() != null) {
            where.append(" AND user_name = ?");
            args.add(filter.user());
        }
        if (filter.name() != null) {
            // LIKE's own characters in the name are literal
            where.append(" AND LOWER(name) LIKE ? ESCAPE '!'");
            args.add("%" + filter.name().toLowerCase(java.util.Locale.ROOT).replaceAll("([!%_])", "!$1") + "%");
        }
        if (filter.sweep() != null) {
            where.append(" AND sweep_id = ?");
            args.add(filter.sweep());
        }
        return jdbc.execute(conn -> {
            long total;
            try (PreparedStatement ps = conn.prepareStatement("SELECT COUNT(*) FROM jobs" + where)) {
                bind(ps, args);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    total = rs.getLong(1);
                }
            }
            List<JobRow> jobs = new ArrayList<>();
            try (PreparedStatement ps = conn.prepareStatement("SELECT * FROM jobs" + where
                    + " ORDER BY id DESC LIMIT " + size + " OFFSET " + ((long) page * size))) {
                bind(ps, args);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        jobs.add(jdbc.readEntity(rs, JobRow.class));
                    }
                }
            }
            return new Page(jobs, total);
        });
    }

    /**
     * What one user used for fair share: device-seconds of their jobs that ran in the window (earlier attempts of
     * running jobs included), and how many jobs of theirs run now, on any server.
     */
    public record Usage(double deviceSeconds, int running) {
        public static final Usage NONE = new Usage(0, 0);
    }

    /** Each user's {@link Usage} since {@code since}; users with no job in the window are absent. */
    @Transactional(readOnly = true)
    public java.util.Map<String, Usage> usage(java.time.Instant since) {
        return jdbc.execute(conn -> {
            java.util.Map<String, Usage> out = new java.util.HashMap<>();
            try (PreparedStatement ps = conn.prepareStatement("SELECT user_name, SUM(device_seconds), "
                    + "SUM(CASE WHEN state = 'RUNNING' THEN 1 ELSE 0 END) FROM jobs "
                    + "WHERE state = 'RUNNING' OR finished_at >= ? GROUP BY user_name")) {
                ps.setObject(1, java.time.OffsetDateTime.ofInstant(since, java.time.ZoneOffset.UTC));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.put(rs.getString(1), new Usage(rs.getDouble(2), rs.getInt(3)));
                    }
                }
            }
            return out;
        });
    }

    private static void bind(PreparedStatement ps, List<Object> args) throws java.sql.SQLException {
        for (int i = 0; i < args.size(); i++) {
            ps.setObject(i + 1, args.get(i));
        }
    }
}
