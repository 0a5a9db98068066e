package io.kiln.service.store;

import io.micronaut.data.jdbc.runtime.JdbcOperations;
import io.micronaut.scheduling.annotation.Scheduled;
import io.micronaut.transaction.annotation.Transactional;
import jakarta.inject.Singleton;
import java.sql.PreparedStatement;
import java.sql.Timestamp;
import java.time.Instant;

/**
 * Writes the store's probe row every kiln.store-probe-interval and tells {@link StoreHealth} how it went: a store
 * that stopped taking writes is seen DOWN before a user's submission meets it, and one that takes them again is
 * UP again by itself.
 */
@Singleton
public class StoreProbe {
    private final StoreHealth health;
    private final Writer writer;

    StoreProbe(StoreHealth health, Writer writer) {
        this.health = health;
        this.writer = writer;
    }

    @Scheduled(fixedDelay = "${kiln.store-probe-interval:5s}", initialDelay = "${kiln.store-probe-interval:5s}")
    void probe() {
        check();
    }

    /** One probe now; whether the store took the write. */
    public boolean check() {
        try {
            writer.write(Instant.now());
            health.ok();
            return true;
        } catch (RuntimeException e) {
            health.failed(e);
            return false;
        }
    }

    /** The probe's write in a transaction of its own, so that its commit is what is tested. */
    @Singleton
    static class Writer {
        private final JdbcOperations jdbc;

        Writer(JdbcOperations jdbc) {
            this.jdbc = jdbc;
        }

        @Transactional
        void write(Instant now) {
            jdbc.execute(conn -> {
                try (PreparedStatement ps = conn.prepareStatement("UPDATE store_probe SET probed_at = ? WHERE id = 1")) {
                    ps.setTimestamp(1, Timestamp.from(now));
                    return ps.executeUpdate();
                }
            });
        }
    }
}
