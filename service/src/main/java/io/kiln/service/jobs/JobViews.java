package io.kiln.service.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.service.access.JobAccess;
import io.kiln.service.auth.Caller;
import io.kiln.service.store.JobQueries;
import io.kiln.service.store.JobRow;
import java.io.IOException;
import java.time.Instant;

/**
 * The JSON a job is shown as (CONTRACT.md's fields), as a caller may see it: the queue's fields for everyone, the
 * error whole only for those who see the job's results ({@link JobAccess}).
 */
public final class JobViews {
    static final ObjectMapper JSON = new ObjectMapper();

    private JobViews() {
    }

    public static ObjectNode summary(JobRow j, JobAccess access, Caller caller) {
        ObjectNode n = JSON.createObjectNode();
        n.put("id", Long.toString(j.id()));
        n.put("name", j.name());
        n.put("user", j.userName());
        n.put("state", j.shownState());
        if (j.waitingReason() != null) {
            // Why the batch system (SLURM) still holds the job back: its own reason, e.g. Resources, Priority.
            n.put("reason", j.waitingReason());
        }
        if (j.batchJob() != null) {
            n.put("batchJob", j.batchJob());
        }
        n.put("device", j.device());
        n.put("requestedDevice", j.requestedDevice());
        n.put("priority", j.priority());
        n.put("shared", j.shared());
        ObjectNode p = n.putObject("progress");
        p.put("epoch", j.epoch());
        p.put("epochs", j.epochs());
        p.put("step", j.step());
        p.put("steps", j.steps());
        // the checkpointed epoch the current attempt resumed after: its throughput counts from there
        p.put("resumedAfterEpoch", j.attemptStartEpoch());
        n.set("metrics", parse(j.latestMetrics()));
        n.put("error", access.visibleError(j, caller));
        n.put("attempts", j.attempts());
        if (j.sweepId() != null) {
            n.put("sweepId", Long.toString(j.sweepId()));
        }
        time(n, "submittedAt", j.submittedAt());
        time(n, "startedAt", j.startedAt());
        time(n, "finishedAt", j.finishedAt());
        time(n, "attemptStartedAt", j.attemptStartedAt());
        n.put("runningSeconds", runningSeconds(j, Instant.now()));
        return n;
    }

    /**
     * The summary, the spec as submitted, and what the caller may do with the job ({@code permissions}: read its
     * results, cancel it, share it), so that a page shows only the buttons that work.
     */
    public static ObjectNode full(JobRow j, JobAccess access, Caller caller) {
        ObjectNode n = summary(j, access, caller);
        n.set("spec", parse(j.spec()));
        ObjectNode may = n.putObject("permissions");
        may.put("results", access.maySeeResults(j, caller));
        may.put("cancel", access.mayManage(j, caller));
        may.put("share", access.mayManage(j, caller));
        return n;
    }

    /** One page of the job list: the jobs' summaries, the page asked for and the total. */
    public static ObjectNode page(JobQueries.Page result, int page, int size, JobAccess access, Caller caller) {
        ObjectNode n = JSON.createObjectNode();
        ArrayNode list = n.putArray("jobs");
        result.jobs().forEach(j -> list.add(summary(j, access, caller)));
        n.put("page", page);
        n.put("size", size);
        n.put("total", result.total());
        return n;
    }

    /** Running time over every attempt: the ended ones' and, while it runs, the current one's so far. */
    static double runningSeconds(JobRow j, Instant now) {
        double current = j.state().equals("RUNNING") && j.attemptStartedAt() != null
                ? Math.max(0, java.time.Duration.between(j.attemptStartedAt(), now).toMillis() / 1000.0) : 0;
        return Math.round((j.deviceSeconds() + current) * 10) / 10.0;
    }

    /** A stored JSON text (the spec, the latest metrics) as a tree; an empty object for none or a broken one. */
    public static JsonNode parse(String json) {
        if (json == null) {
            return JSON.createObjectNode();
        }
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            return JSON.createObjectNode();
        }
    }

    private static void time(ObjectNode n, String field, Instant t) {
        if (t == null) {
            n.putNull(field);
        } else {
            n.put(field, t.toString());
        }
    }
}
