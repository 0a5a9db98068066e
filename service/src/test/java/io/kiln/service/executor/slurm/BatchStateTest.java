package io.kiln.service.executor.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kiln.service.executor.Outcome;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** docs/slurm.md's table of SLURM's states, as the executor reads them. */
@Timeout(10)
class BatchStateTest {
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"PENDING, WAITING", "REQUEUED, WAITING", "REQUEUE_HOLD, WAITING", "CONFIGURING, WAITING",
            "RUNNING, RUNNING", "COMPLETING, RUNNING", "SUSPENDED, RUNNING", "COMPLETED, EXITED", "FAILED, EXITED",
            "CANCELLED, CANCELLED", "'CANCELLED by 0', CANCELLED", "CANCELLED+, CANCELLED", "TIMEOUT, STOPPED",
            "OUT_OF_MEMORY, STOPPED", "DEADLINE, STOPPED", "NODE_FAIL, LOST", "BOOT_FAIL, LOST", "PREEMPTED, LOST",
            "REVOKED, STOPPED", "SPECIAL_EXIT, STOPPED", "running, RUNNING"})
    void eachStateMeansOneThing(String slurm, BatchState meaning) {
        assertEquals(meaning, BatchState.of(slurm));
    }

    @Test
    void whoEndedARun() {
        assertEquals(Outcome.Ending.EXITED, BatchState.EXITED.ending(false));
        assertEquals(Outcome.Ending.EXITED, BatchState.CANCELLED.ending(true), "Kiln's own cancel");
        assertEquals(Outcome.Ending.CANCELLED_OUTSIDE, BatchState.CANCELLED.ending(false));
        assertEquals(Outcome.Ending.STOPPED_BY_SYSTEM, BatchState.STOPPED.ending(false));
        assertEquals(Outcome.Ending.LOST, BatchState.LOST.ending(true));
    }
}
