package io.kiln.service.scheduler;

import io.kiln.service.jobs.SweepRetrain;
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

    SweepFollowUps(SweepRetrain retrain) {
        this.retrain = retrain;
    }

    @Scheduled(fixedDelay = "1s", initialDelay = "2s")
    void tick() {
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
            LOG.error("sweep follow-ups failed", e);
        }
    }
}
