package io.kiln.service.executor.slurm;

import io.kiln.service.executor.Outcome;
import java.util.Locale;
import java.util.Set;

/**
 * What SLURM's job states (squeue's %T, scontrol's JobState) mean to Kiln: the batch system holds the run back
 * (the job shows as queued, with SLURM's reason), runs it, or has ended it, and then who ended it. docs/slurm.md
 * has the table.
 */
enum BatchState {
    /** Waiting to start, or to start again: PENDING, REQUEUED, held, CONFIGURING (nodes booting). */
    WAITING,
    /** Started: RUNNING, COMPLETING, SUSPENDED, and the rarer in-flight states. */
    RUNNING,
    /** Ended by the batch script's exit: COMPLETED, FAILED. */
    EXITED,
    /** Cancelled (scancel). */
    CANCELLED,
    /** Stopped by SLURM for a limit: TIMEOUT, OUT_OF_MEMORY, DEADLINE. */
    STOPPED,
    /** Lost through no fault of the job: NODE_FAIL, BOOT_FAIL, PREEMPTED. Kiln runs it again. */
    LOST;

    private static final Set<String> WAITING_STATES = Set.of("PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
            "RESV_DEL_HOLD", "CONFIGURING");
    private static final Set<String> RUNNING_STATES = Set.of("RUNNING", "COMPLETING", "SUSPENDED", "STAGE_OUT",
            "SIGNALING", "RESIZING", "STOPPED");
    private static final Set<String> STOPPED_STATES = Set.of("TIMEOUT", "OUT_OF_MEMORY", "DEADLINE");
    private static final Set<String> LOST_STATES = Set.of("NODE_FAIL", "BOOT_FAIL", "PREEMPTED");

    /** The meaning of a state name; an ended state Kiln does not know (REVOKED, SPECIAL_EXIT, ...) is STOPPED. */
    static BatchState of(String slurmState) {
        String s = slurmState.strip().toUpperCase(Locale.ROOT);
        // sacct writes "CANCELLED by 0"; squeue may add "+" to a state (CANCELLED+).
        s = s.split("[ +]", 2)[0];
        if (WAITING_STATES.contains(s)) {
            return WAITING;
        }
        if (RUNNING_STATES.contains(s)) {
            return RUNNING;
        }
        if (s.equals("COMPLETED") || s.equals("FAILED")) {
            return EXITED;
        }
        if (s.equals("CANCELLED")) {
            return CANCELLED;
        }
        if (LOST_STATES.contains(s)) {
            return LOST;
        }
        return STOPPED;
    }

    boolean ended() {
        return this != WAITING && this != RUNNING;
    }

    /** Who ended a run that ended in this state; {@code stoppedByKiln}: this server asked SLURM to cancel it. */
    Outcome.Ending ending(boolean stoppedByKiln) {
        return switch (this) {
            case EXITED -> Outcome.Ending.EXITED;
            case CANCELLED -> stoppedByKiln ? Outcome.Ending.EXITED : Outcome.Ending.CANCELLED_OUTSIDE;
            case LOST -> Outcome.Ending.LOST;
            case STOPPED -> Outcome.Ending.STOPPED_BY_SYSTEM;
            case WAITING, RUNNING -> throw new IllegalStateException(this + " has not ended");
        };
    }
}
