package io.kiln.service.config;

import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Kiln's settings ({@code kiln.*} in application.yml, each also set by environment: KILN_HOME, KILN_DATA_ROOT,
 * KILN_ADMIN_TOKEN, ... as CONTRACT.md lists).
 */
@ConfigurationProperties("kiln")
public class KilnConfig {
    @Nullable
    private Path home;
    @Nullable
    private Path dataRoot;
    @Nullable
    private String adminToken;
    @Nullable
    private String serverId;
    @Nullable
    private Boolean cpuSlot;
    private String workerHeap = "2g";
    private int maxQueuedPerUser = 100;
    private int maxRunningPerUser = 4;
    private Duration cancelGrace = Duration.ofSeconds(10);
    private Duration heartbeatInterval = Duration.ofSeconds(5);
    private Duration staleAfter = Duration.ofSeconds(60);
    private int maxAttempts = 3;
    @Nullable
    private Duration maxJobDuration;
    private long uploadLimitBytes = 2L << 30;

    /**
     * State (database, job folders); ~/.kiln unless set. Always absolute: workers run in their job's folder and
     * are given paths under it.
     */
    public Path getHome() {
        Path h = home != null && !home.toString().isBlank() ? home : Path.of(System.getProperty("user.home"), ".kiln");
        return h.toAbsolutePath().normalize();
    }

    public void setHome(@Nullable Path home) {
        this.home = home;
    }

    /** Datasets; $KILN_HOME/data unless set. Always absolute. */
    public Path getDataRoot() {
        Path d = dataRoot != null && !dataRoot.toString().isBlank() ? dataRoot : getHome().resolve("data");
        return d.toAbsolutePath().normalize();
    }

    public void setDataRoot(@Nullable Path dataRoot) {
        this.dataRoot = dataRoot;
    }

    @Nullable
    public String getAdminToken() {
        return adminToken == null || adminToken.isBlank() ? null : adminToken;
    }

    public void setAdminToken(@Nullable String adminToken) {
        this.adminToken = adminToken;
    }

    /** This server's name in the shared queue; host name and port unless set. */
    @Nullable
    public String getServerId() {
        return serverId;
    }

    public void setServerId(@Nullable String serverId) {
        this.serverId = serverId;
    }

    /** Whether jobs may run on the CPU; by default only when the machine has no GPU. */
    @Nullable
    public Boolean getCpuSlot() {
        return cpuSlot;
    }

    public void setCpuSlot(@Nullable Boolean cpuSlot) {
        this.cpuSlot = cpuSlot;
    }

    /** -Xmx of each worker process. */
    public String getWorkerHeap() {
        return workerHeap;
    }

    public void setWorkerHeap(String workerHeap) {
        this.workerHeap = workerHeap;
    }

    public int getMaxQueuedPerUser() {
        return maxQueuedPerUser;
    }

    public void setMaxQueuedPerUser(int maxQueuedPerUser) {
        this.maxQueuedPerUser = maxQueuedPerUser;
    }

    public int getMaxRunningPerUser() {
        return maxRunningPerUser;
    }

    public void setMaxRunningPerUser(int maxRunningPerUser) {
        this.maxRunningPerUser = maxRunningPerUser;
    }

    /** How long a cancelled worker may take to stop before it is killed. */
    public Duration getCancelGrace() {
        return cancelGrace;
    }

    public void setCancelGrace(Duration cancelGrace) {
        this.cancelGrace = cancelGrace;
    }

    public Duration getHeartbeatInterval() {
        return heartbeatInterval;
    }

    public void setHeartbeatInterval(Duration heartbeatInterval) {
        this.heartbeatInterval = heartbeatInterval;
    }

    /** A running job whose server has not heartbeaten for this long goes back to the queue. */
    public Duration getStaleAfter() {
        return staleAfter;
    }

    public void setStaleAfter(Duration staleAfter) {
        this.staleAfter = staleAfter;
    }

    /** Runs of one job (first run and resumes after a lost worker or server) before it fails for good. */
    public int getMaxAttempts() {
        return maxAttempts;
    }

    public void setMaxAttempts(int maxAttempts) {
        this.maxAttempts = maxAttempts;
    }

    /** Optional time limit for a job's run; none by default. */
    @Nullable
    public Duration getMaxJobDuration() {
        return maxJobDuration;
    }

    public void setMaxJobDuration(@Nullable Duration maxJobDuration) {
        this.maxJobDuration = maxJobDuration;
    }

    public long getUploadLimitBytes() {
        return uploadLimitBytes;
    }

    public void setUploadLimitBytes(long uploadLimitBytes) {
        this.uploadLimitBytes = uploadLimitBytes;
    }

    public Path jobsDir() {
        return getHome().resolve("jobs");
    }
}
