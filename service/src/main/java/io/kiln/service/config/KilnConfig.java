package io.kiln.service.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.bind.annotation.Bindable;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.Pattern;
import java.time.Duration;

/**
 * Kiln's settings, {@code kiln.*} in application.yml, each also set by environment (KILN_HOME, KILN_DATA_ROOT,
 * KILN_ADMIN_TOKEN, KILN_MAX_ATTEMPTS, ...) or {@code -Dkiln.x=...}. Read once at start-up and checked there: a
 * value out of its bounds stops the service with a message naming the setting. application.yml and README's
 * "Configuration" describe each; paths are resolved by {@link KilnPaths}.
 *
 * @param home state (database, job folders); ~/.kiln when blank
 * @param dataRoot datasets; $KILN_HOME/data when blank
 * @param adminToken a token accepted as the built-in admin from start-up; none when blank
 * @param serverId this server's name in a shared queue; host name and HTTP port when blank
 * @param executor where jobs run: {@code local} (worker processes on this server's slots) or {@code slurm} (each
 *     job a SLURM batch job; its settings are {@link io.kiln.service.executor.slurm.SlurmSettings})
 * @param cpuSlot whether jobs also run on this server's CPU
 * @param workerHeap -Xmx of each worker process
 * @param maxQueuedPerUser queued jobs one user may have; a submission beyond is refused with 429
 * @param maxRunningPerUser running jobs one user may have across all servers; the next waits in the queue
 * @param cancelGrace how long a worker asked to stop (SIGTERM) may take before it is killed
 * @param heartbeatInterval how often this server marks the jobs it runs as alive, and looks for stale ones
 * @param staleAfter a running job whose server has not heartbeaten for this long goes back to the queue
 * @param maxAttempts runs of one job (the first and resumes after a lost worker or server) before it fails
 * @param maxJobDuration a time limit for one run of a job; none when unset
 * @see KilnLimits what one request, upload or outage may cost
 */
@ConfigurationProperties("kiln")
public record KilnConfig(
        @Nullable String home,
        @Nullable String dataRoot,
        @Nullable String adminToken,
        @Nullable String serverId,
        @Bindable(defaultValue = "local")
        @Pattern(regexp = "local|slurm", message = "kiln.executor: must be local or slurm, got {validatedValue}")
        String executor,
        @Bindable(defaultValue = "auto") CpuSlot cpuSlot,
        @Bindable(defaultValue = "2g")
        @Pattern(regexp = "[1-9][0-9]*[kKmMgGtT]?", message = "kiln.worker-heap: must be a Java heap size such as 512m or "
                + "2g, got {validatedValue}")
        String workerHeap,
        @Bindable(defaultValue = "100")
        @Min(value = 1, message = "kiln.max-queued-per-user: must be at least 1")
        @Max(value = 1_000_000, message = "kiln.max-queued-per-user: must be at most 1000000")
        int maxQueuedPerUser,
        @Bindable(defaultValue = "4")
        @Min(value = 1, message = "kiln.max-running-per-user: must be at least 1")
        @Max(value = 10_000, message = "kiln.max-running-per-user: must be at most 10000")
        int maxRunningPerUser,
        @Bindable(defaultValue = "10s")
        @DurationRange(min = "0s", max = "10m", message = "kiln.cancel-grace: must be between 0s and 10m")
        Duration cancelGrace,
        @Bindable(defaultValue = "5s")
        @DurationRange(min = "100ms", max = "10m", message = "kiln.heartbeat-interval: must be between 100ms and 10m")
        Duration heartbeatInterval,
        @Bindable(defaultValue = "60s")
        @DurationRange(min = "1s", max = "1d", message = "kiln.stale-after: must be between 1s and 1d")
        Duration staleAfter,
        @Bindable(defaultValue = "3")
        @Min(value = 1, message = "kiln.max-attempts: must be at least 1")
        @Max(value = 100, message = "kiln.max-attempts: must be at most 100")
        int maxAttempts,
        @Nullable
        @DurationRange(min = "1s", max = "365d", message = "kiln.max-job-duration: must be between 1s and 365d")
        Duration maxJobDuration) {

    /**
     * A server's heartbeat must come well within the time after which others take its jobs over, or a tick late by
     * a garbage collection or a busy CPU would hand a running job to a second server.
     */
    static final int STALE_HEARTBEATS = 2;

    public KilnConfig {
        if (heartbeatInterval != null && staleAfter != null
                && staleAfter.compareTo(heartbeatInterval.multipliedBy(STALE_HEARTBEATS)) < 0) {
            throw new IllegalArgumentException("kiln.stale-after (" + staleAfter + ") must be at least "
                    + STALE_HEARTBEATS + " times kiln.heartbeat-interval (" + heartbeatInterval + ")");
        }
    }

    /** The admin token, null when unset or blank. */
    @Override
    @Nullable
    public String adminToken() {
        return blank(adminToken) ? null : adminToken;
    }

    /** The configured server id, null when unset or blank (the scheduler then names the server by host and port). */
    @Override
    @Nullable
    public String serverId() {
        return blank(serverId) ? null : serverId;
    }

    static boolean blank(@Nullable String s) {
        return s == null || s.isBlank();
    }
}
