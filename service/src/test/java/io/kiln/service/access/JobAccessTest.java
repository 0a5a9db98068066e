package io.kiln.service.access;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.service.auth.Caller;
import io.kiln.service.errors.Forbidden;
import io.kiln.service.store.JobRow;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The rule by itself: owner, admin, another user; shared or not. */
@Timeout(10)
class JobAccessTest {
    static final JobAccess ACCESS = new JobAccess();
    static final Caller ALICE = new Caller("alice", false, 1L);
    static final Caller BOB = new Caller("bob", false, 2L);
    static final Caller ADMIN = new Caller("carol", true, 3L);

    static JobRow job(boolean shared, String error) {
        return new JobRow(7L, "j", "alice", "{}", "cpu", 0, "FAILED", "cpu", null, null, false, 1, 1, 1, 1, 1, 1, null,
                error, null, Instant.EPOCH, null, null, 0, shared, null, 0, null, null);
    }

    @Test
    void resultsAreTheOwnersAndTheAdminsUnlessShared() {
        JobRow own = job(false, null);
        assertTrue(ACCESS.maySeeResults(own, ALICE) && ACCESS.maySeeResults(own, ADMIN));
        assertFalse(ACCESS.maySeeResults(own, BOB));
        Forbidden f = assertThrows(Forbidden.class, () -> ACCESS.requireResults(own, BOB, JobAccess.Result.FINE_TUNING, "init.fromJob"));
        assertEquals("init.fromJob", f.field());
        assertTrue(f.getMessage().contains("fine-tuning from its weights is for alice and the admins only"), f.getMessage());
        assertTrue(ACCESS.maySeeResults(job(true, null), BOB), "once shared, anyone's");
        assertDoesNotThrow(() -> ACCESS.requireResults(job(true, null), BOB, JobAccess.Result.LOG));
    }

    @Test
    void sharingDoesNotHandOverCancellingOrSharing() {
        JobRow shared = job(true, null);
        assertFalse(ACCESS.mayManage(shared, BOB));
        assertTrue(ACCESS.mayManage(shared, ALICE) && ACCESS.mayManage(shared, ADMIN));
        Forbidden f = assertThrows(Forbidden.class, () -> ACCESS.requireOwnerOrAdmin(shared, BOB, "share"));
        assertEquals("job 7 belongs to alice; only alice or an admin may share it (you are bob)", f.getMessage());
    }

    @Test
    void theLogQuoteOfAnErrorIsOnlyForThoseWhoSeeTheResults() {
        String error = "the worker exited with code 1; its last output:\nline one\nline two";
        assertEquals(error, ACCESS.visibleError(job(false, error), ALICE));
        assertEquals("the worker exited with code 1; its last output (in the job's log, which is for its owner and the "
                + "admins)", ACCESS.visibleError(job(false, error), BOB));
        assertEquals(error, ACCESS.visibleError(job(true, error), BOB));
        assertEquals("data.name: no dataset", ACCESS.visibleError(job(false, "data.name: no dataset"), BOB), "one line: whole");
        assertEquals(null, ACCESS.visibleError(job(false, null), BOB));
    }
}
