package io.kiln.service.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.bind.annotation.Bindable;
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
        @NumberRange(setting = "kiln.max-queued-per-user", min = 1, max = 1_000_000)
        int maxQueuedPerUser,
        @Bindable(defaultValue = "4")
        @NumberRange(setting = "kiln.max-running-per-user", min = 1, max = 10_000)
        int maxRunningPerUser,
        @Bindable(defaultValue = "10s")
        @DurationRange(setting = "kiln.cancel-grace", min = "0s", max = "10m")
        Duration cancelGrace,
        @Bindable(defaultValue = "5s")
        @DurationRange(setting = "kiln.heartbeat-interval", min = "100ms", max = "10m")
        Duration heartbeatInterval,
        @Bindable(defaultValue = "60s")
        @DurationRange(setting = "kiln.stale-after", min = "1s", max = "1d")
        Duration staleAfter,
        @Bindable(defaultValue = "3")
        @NumberRange(setting = "kiln.max-attempts", min = 1, max = 100)
        int maxAttempts,
        @Nullable
        @DurationRange(setting = "kiln.max-job-duration", min = "1s", max = "365d")
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
