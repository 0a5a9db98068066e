package io.kiln.service.access;

import io.kiln.service.auth.Caller;
import io.kiln.service.errors.Forbidden;
import io.kiln.service.store.JobRow;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;

/**
 * Who may see and do what with a job: the one place the rule lives (README, "Who sees what").
 *
 * <ul>
 *   <li>Every signed-in user sees the queue: each job's name, owner, state, device, progress, spec, metrics and
 *   state changes.</li>
 *   <li>A job's results ({@link Result}: its log, report, checkpoint, predictions, ONNX export, fine-tuning from it, and the
 *   part of its error and of its state-change messages that quotes its log) are its owner's and the admins', unless the owner (or an
 *   admin) shares the job with the lab.</li>
 *   <li>Cancelling and sharing are for the owner and the admins only.</li>
 * </ul>
 *
 * Whatever is refused is a {@link Forbidden} that says why and who may. Anything new that comes from a job's
 * weights or output (a model made from a job, say) asks {@link #requireResults} with a {@link Result}
 * of its own.
 */
@Singleton
public class JobAccess {
    /** What of a job is its owner's unless shared; each with the words a refusal uses. */
    public enum Result {
        LOG("its log"),
        REPORT("its report"),
        CHECKPOINT("its checkpoint"),
        PREDICTIONS("predictions with its weights"),
        ONNX("its model as ONNX"),
        FINE_TUNING("fine-tuning from its weights");

        private final String words;

        Result(String words) {
            this.words = words;
        }
    }

    /** Whether the caller may read the job's results: its owner, an admin, or anyone once the job is shared. */
    public boolean maySeeResults(JobRow job, Caller caller) {
        return caller.admin() || owns(job, caller) || job.shared();
    }

    /** Refuses, saying why and who may, a caller who may not read this result of the job. */
    public void requireResults(JobRow job, Caller caller, Result what) {
        requireResults(job, caller, what, null);
    }

    /** As {@link #requireResults(JobRow, Caller, Result)}, naming the request field that asked for it. */
    public void requireResults(JobRow job, Caller caller, Result what, @Nullable String field) {
        if (!maySeeResults(job, caller)) {
            throw new Forbidden(field, "job " + job.id() + " belongs to " + job.userName() + " and is not shared: "
                    + what.words + " is for " + job.userName() + " and the admins only; " + job.userName()
                    + " or an admin may share it with PATCH /api/v1/jobs/" + job.id() + " {\"shared\": true}");
        }
    }

    /** Whether the caller may cancel or share the job: its owner or an admin. */
    public boolean mayManage(JobRow job, Caller caller) {
        return caller.admin() || owns(job, caller);
    }

    /** Refuses anyone but the job's owner and the admins; {@code action} is the verb ("cancel", "share"). */
    public void requireOwnerOrAdmin(JobRow job, Caller caller, String action) {
        if (!mayManage(job, caller)) {
            throw new Forbidden("job " + job.id() + " belongs to " + job.userName() + "; only " + job.userName()
                    + " or an admin may " + action + " it (you are " + caller.name() + ")");
        }
    }

    /**
     * A job's error as the caller may read it: whole for those who see its results, else only its first line
     * (what follows quotes the job's log, such as a failed worker's last output).
     */
    @Nullable
    public String visibleError(JobRow job, Caller caller) {
        String error = job.error();
        return error == null || maySeeResults(job, caller) ? error : firstLine(error);
    }

    /** The first line of a message that may quote a job's log. */
    public static String firstLine(String message) {
        int nl = message.indexOf('\n');
        if (nl < 0) {
            return message;
        }
        String first = message.substring(0, nl).strip();
        return (first.endsWith(":") ? first.substring(0, first.length() - 1) : first)
                + " (in the job's log, which is for its owner and the admins)";
    }

    private static boolean owns(JobRow job, Caller caller) {
        return job.userName().equals(caller.name());
    }
}
