package io.kiln.service.store;

import io.micronaut.data.jdbc.runtime.JdbcOperations;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** A job's metric series: per-step training loss and per-epoch figures, written in batches. */
@Singleton
public class MetricStore {

    public record StepPoint(int epoch, int step, long globalStep, double loss) {
    }

    public record EpochPoint(int epoch, Double trainLoss, Double trainAcc, Double valLoss, Double valAcc,
                             Double samplesPerSecond, Double seconds, Double lr) {
    }

    private final JdbcOperations jdbc;

    public MetricStore(JdbcOperations jdbc) {
        this.jdbc = jdbc;
    }

    @Transactional
    public void append(long jobId, List<StepPoint> steps, List<EpochPoint> epochs) {
        jdbc.execute(conn -> {
            if (!steps.isEmpty()) {
                try (PreparedStatement ps = conn.prepareStatement(
                        "INSERT INTO step_metrics (job_id, epoch, step, global_step, loss) VALUES (?, ?, ?, ?, ?)")) {
                    for (StepPoint p : steps) {
                        ps.setLong(1, jobId);
                        ps.setInt(2, p.epoch());
                        ps.setInt(3, p.step());
                        ps.setLong(4, p.globalStep());
                        setDouble(ps, 5, p.loss());
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
            }
            if (!epochs.isEmpty()) {
                try (PreparedStatement ps = conn.prepareStatement("INSERT INTO epoch_metrics (job_id, epoch, train_loss, "
                        + "train_acc, val_loss, val_acc, samples_per_s, seconds, lr) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                    for (EpochPoint p : epochs) {
                        ps.setLong(1, jobId);
                        ps.setInt(2, p.epoch());
                        setDouble(ps, 3, p.trainLoss());
                        setDouble(ps, 4, p.trainAcc());
                        setDouble(ps, 5, p.valLoss());
                        setDouble(ps, 6, p.valAcc());
                        setDouble(ps, 7, p.samplesPerSecond());
                        setDouble(ps, 8, p.seconds());
                        setDouble(ps, 9, p.lr());
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
            }
            return null;
        });
    }

    /** Forgets every point after {@code epoch}: a resumed run reports those epochs again. */
    @Transactional
    public void deleteAfter(long jobId, int epoch) {
        jdbc.execute(conn -> {
            for (String table : List.of("step_metrics", "epoch_metrics")) {
                try (PreparedStatement ps = conn.prepareStatement("DELETE FROM " + table + " WHERE job_id = ? AND epoch > ?")) {
                    ps.setLong(1, jobId);
                    ps.setInt(2, epoch);
                    ps.executeUpdate();
                }
            }
            return null;
        });
    }

    @Transactional(readOnly = true)
    public List<StepPoint> steps(long jobId) {
        return jdbc.execute(conn -> {
            List<StepPoint> out = new ArrayList<>();
            try (PreparedStatement ps = conn.prepareStatement(
                    "SELECT epoch, step, global_step, loss FROM step_metrics WHERE job_id = ? ORDER BY global_step")) {
                ps.setLong(1, jobId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new StepPoint(rs.getInt(1), rs.getInt(2), rs.getLong(3), rs.getDouble(4)));
                    }
                }
            }
            return out;
        });
    }

    @Transactional(readOnly = true)
    public List<EpochPoint> epochs(long jobId) {
        return jdbc.execute(conn -> {
            List<EpochPoint> out = new ArrayList<>();
            try (PreparedStatement ps = conn.prepareStatement("SELECT epoch, train_loss, train_acc, val_loss, val_acc, "
                    + "samples_per_s, seconds, lr FROM epoch_metrics WHERE job_id = ? ORDER BY epoch")) {
                ps.setLong(1, jobId);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new EpochPoint(rs.getInt(1), get(rs, 2), get(rs, 3), get(rs, 4), get(rs, 5), get(rs, 6),
                                get(rs, 7), get(rs, 8)));
                    }
                }
            }
            return out;
        });
    }

    /** The most ids one query names; longer lists are read in parts. */
    private static final int IDS_PER_QUERY = 500;

    /** The per-epoch points of several jobs, each job's in epoch order; jobs without any are absent. */
    @Transactional(readOnly = true)
    public Map<Long, List<EpochPoint>> epochs(Collection<Long> jobIds) {
        List<Long> ids = List.copyOf(new java.util.LinkedHashSet<>(jobIds));
        Map<Long, List<EpochPoint>> out = new HashMap<>();
        for (int from = 0; from < ids.size(); from += IDS_PER_QUERY) {
            List<Long> part = ids.subList(from, Math.min(ids.size(), from + IDS_PER_QUERY));
            String marks = String.join(", ", java.util.Collections.nCopies(part.size(), "?"));
            jdbc.execute(conn -> {
                try (PreparedStatement ps = conn.prepareStatement("SELECT job_id, epoch, train_loss, train_acc, val_loss, "
                        + "val_acc, samples_per_s, seconds, lr FROM epoch_metrics WHERE job_id IN (" + marks + ") "
                        + "ORDER BY job_id, epoch")) {
                    for (int i = 0; i < part.size(); i++) {
                        ps.setLong(i + 1, part.get(i));
                    }
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            out.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>()).add(new EpochPoint(rs.getInt(2),
                                    get(rs, 3), get(rs, 4), get(rs, 5), get(rs, 6), get(rs, 7), get(rs, 8), get(rs, 9)));
                        }
                    }
                }
                return null;
            });
        }
        return out;
    }

    private static Double get(ResultSet rs, int column) throws SQLException {
        double v = rs.getDouble(column);
        return rs.wasNull() ? null : v;
    }

    private static void setDouble(PreparedStatement ps, int index, Double v) throws SQLException {
        if (v == null || !Double.isFinite(v)) {
            ps.setNull(index, Types.DOUBLE);
        } else {
            ps.setDouble(index, v);
        }
    }
}
