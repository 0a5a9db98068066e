package io.kiln.service.scheduler;

import io.kiln.service.executor.Placement;
import io.kiln.service.store.JobQueries.Usage;
import io.kiln.service.store.JobRow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which queued job goes next, decided from a snapshot of the queue and of each user's use: no store, no clock.
 * The order is priority (higher first, set by admins), then fair share (the user who has used least device time
 * in the last {@link #FAIR_SHARE_WINDOW}, counting each running job as {@link #RUNNING_JOB_SECONDS}, goes first),
 * then submission time. A user already running {@code maxRunningPerUser} jobs is passed over. Each job handed
 * out counts as running for its user at once, so that the next vacancy of the same tick sees it.
 */
public final class QueueOrder {
    /**
     * How far back use counts. A day, because a lab's work comes in days: a morning's long run still counts
     * against its owner in the afternoon, while yesterday's sweep no longer keeps anyone behind today.
     */
    public static final Duration FAIR_SHARE_WINDOW = Duration.ofDays(1);
    /**
     * What a running job weighs in fair share, whatever it has run so far: an hour, so that one user's second job
     * waits behind everyone else's first.
     */
    public static final double RUNNING_JOB_SECONDS = 3600;

    private final List<JobRow> queued;
    private final Map<String, Usage> usage;
    private final int maxRunningPerUser;

    public QueueOrder(List<JobRow> queued, Map<String, Usage> usage, int maxRunningPerUser) {
        this.queued = new ArrayList<>(queued);
        this.usage = new HashMap<>(usage);
        this.maxRunningPerUser = maxRunningPerUser;
    }

    /** The queue as it would be served now, first job first (the per-user limit aside). */
    public List<JobRow> order() {
        List<JobRow> sorted = new ArrayList<>(queued);
        sorted.sort(Comparator.comparingInt(JobRow::priority).reversed()
                .thenComparingDouble(j -> share(j.userName()))
                .thenComparing(JobRow::submittedAt)
                .thenComparing(JobRow::id));
        return sorted;
    }

    /** The first job in order that the placement satisfies and whose user may start another one. */
    public Optional<JobRow> next(Placement placement) {
        return order().stream()
                .filter(j -> placement.satisfies(j.requestedDevice()))
                .filter(j -> usage(j.userName()).running() < maxRunningPerUser)
                .findFirst();
    }

    /** The job was claimed here: it leaves the queue, and counts as running for its user. */
    public void started(JobRow job) {
        queued.remove(job);
        Usage u = usage(job.userName());
        usage.put(job.userName(), new Usage(u.deviceSeconds(), u.running() + 1));
    }

    /** Someone else got the job first (another server, a cancel): it leaves the queue. */
    public void lost(JobRow job) {
        queued.remove(job);
    }

    /** A user's fair-share figure: device-seconds in the window plus the weight of their running jobs. */
    double share(String user) {
        Usage u = usage(user);
        return u.deviceSeconds() + RUNNING_JOB_SECONDS * u.running();
    }

    private Usage usage(String user) {
        return usage.getOrDefault(user, Usage.NONE);
    }
}
