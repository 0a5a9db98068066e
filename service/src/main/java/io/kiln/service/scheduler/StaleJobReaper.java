package io.kiln.service.scheduler;

import io.kiln.service.config.KilnConfig;
import io.kiln.service.store.JobRepository;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.JobState;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.Instant;
import java.util.Set;

/**
 * Servers sharing a queue tell each other they are alive: every kiln.heartbeat-interval this server stamps the
 * jobs it runs, and a running job whose stamp is older than kiln.stale-after (its server crashed, or lost the
 * database) goes back to the queue, to resume from its checkpoint on whichever server claims it; so does a job
 * claimed by this server whose start was cut short.
 */
@Singleton
class StaleJobReaper {
    private final JobRepository jobs;
    private final JobTransitions transitions;
    private final KilnConfig config;
    private volatile Instant lastHeartbeat = Instant.EPOCH;

    StaleJobReaper(JobRepository jobs, JobTransitions transitions, KilnConfig config) {
        this.jobs = jobs;
        this.transitions = transitions;
        this.config = config;
    }

    /** Heartbeats and reaps when an interval has passed since the last time. */
    void tick(String serverId, Instant now, Set<Long> runningHere) {
        if (Duration.between(lastHeartbeat, now).compareTo(config.heartbeatInterval()) < 0) {
            return;
        }
        jobs.heartbeat(serverId, now);
        lastHeartbeat = now;
        for (JobRow mine : jobs.findByStateAndServerId(JobState.RUNNING.name(), serverId)) {
            // Claimed here but not running here: its start was cut short (the store failed during it).
            if (!runningHere.contains(mine.id())) {
                transitions.requeueOrFail(mine, "its start on " + serverId + " was cut short");
            }
        }
        for (JobRow stale : jobs.findStale(now.minus(config.staleAfter()))) {
            // This server's own jobs are alive by definition, even if its heartbeat came late.
            if (!runningHere.contains(stale.id())) {
                transitions.requeueOrFail(stale, "its server " + stale.serverId() + " stopped heartbeating");
            }
        }
    }
}
