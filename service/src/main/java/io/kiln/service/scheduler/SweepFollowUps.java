package io.kiln.service.scheduler;

import io.kiln.service.jobs.SweepRetrain;
import io.kiln.service.store.StoreHealth;
import io.micronaut.scheduling.annotation.Scheduled;
import jakarta.inject.Singleton;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What follows from a sweep once its points have ended: every second, each sweep waiting to retrain its best
 * point is looked at ({@link SweepRetrain}). Polling the store rather than listening for the last point's end
 * keeps it right however that point ended (finished, failed, cancelled while queued, given up by another server)
 * and after a restart.
 */
@Singleton
class SweepFollowUps {
    private static final Logger LOG = LoggerFactory.getLogger(SweepFollowUps.class);
    private final SweepRetrain retrain;
    private final StoreHealth health;

    SweepFollowUps(SweepRetrain retrain, StoreHealth health) {
        this.retrain = retrain;
        this.health = health;
    }

    @Scheduled(fixedDelay = "1s", initialDelay = "2s")
    void tick() {
        if (!health.up()) {
            return; // nothing can start while the store cannot be written; StoreHealth says so once
        }
        try {
            for (long sweep : retrain.pending()) {
                try {
                    Long job = retrain.startIfReady(sweep);
                    if (job != null) {
                        LOG.info("sweep {}: job {} retrains its best point", sweep, job);
                    }
                } catch (RuntimeException e) {
                    LOG.info("sweep {}: retraining not started now: {}", sweep, e.getMessage());
                }
            }
        } catch (RuntimeException e) {
            // Tried again within a second; a store outage (the usual cause) is reported once by StoreHealth, so this
            // is not a warning each time, and the trace is there for debugging.
            LOG.info("sweep follow-ups not done now: {}", e.getMessage());
            LOG.debug("sweep follow-ups failed", e);
        }
    }
}
