package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * The order in which queued jobs get the one CPU slot, over real HTTP with real workers: priority first, then
 * fair share between users, then submission time (the rule alone: scheduler.QueueOrderTest). Each test holds
 * the slot with a long job, queues the jobs to order behind it, and cancels the holder: which job starts next,
 * and which after it, is then decided by the rule alone.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class QueueOrderApiTest {
    static final Duration TIMEOUT = Duration.ofSeconds(90);
    @AutoClose
    KilnServer kiln;

    @BeforeAll
    void start() throws IOException {
        kiln = KilnServer.onTinyData("kiln-queue-order", 100, 40, Map.of());
    }

    @Test
    void anAdminsHighPriorityJobRunsBeforeAnEarlierOne() {
        String holder = holdTheSlot(KilnServer.ADMIN);
        String normal = kiln.submit(TestData.spec("normal", "tiny", 1));
        KilnServer.Answer urgent = kiln.post("/api/v1/jobs?priority=5", KilnServer.ADMIN, TestData.spec("urgent", "tiny", 1));
        assertEquals(201, urgent.status(), urgent.body());
        release(holder);
        assertRanInOrder(urgent.json().get("id").asText(), normal);
    }

    @Test
    void theUserWhoUsedLessDeviceTimeGoesFirst() {
        String fay = ApiTestSupport.token(kiln, "fay");
        String gus = ApiTestSupport.token(kiln, "gus");
        // Fay's long job is her device time of the last day once it ends; Gus has used none.
        String holder = holdTheSlot(fay);
        String faysNext = kiln.submit(TestData.spec("fay-2", "tiny", 1), fay);
        String gusFirst = kiln.submit(TestData.spec("gus-1", "tiny", 1), gus);
        assertTrue(Instant.parse(job(faysNext).get("submittedAt").asText())
                .isBefore(Instant.parse(job(gusFirst).get("submittedAt").asText())), "Fay queued first");
        release(holder);
        assertRanInOrder(gusFirst, faysNext);
    }

    /** Submits a long job as this user and returns its id once it runs. */
    private String holdTheSlot(String token) {
        String id = kiln.submit(TestData.spec("holder", "tiny", 5000), token);
        kiln.awaitJob(id, j -> j.path("state").asText().equals("RUNNING") && j.path("progress").path("step").asInt() > 0, TIMEOUT);
        return id;
    }

    private void release(String holder) {
        assertEquals(200, kiln.post("/api/v1/jobs/" + holder + "/cancel", KilnServer.ADMIN, null).status());
        kiln.awaitState(holder, "CANCELLED", TIMEOUT);
    }

    /** Both succeeded, the second started only after the first had ended (one slot). */
    private void assertRanInOrder(String first, String second) {
        JsonNode a = kiln.awaitState(first, "SUCCEEDED", TIMEOUT);
        JsonNode b = kiln.awaitState(second, "SUCCEEDED", TIMEOUT);
        Instant firstEnded = Instant.parse(a.get("finishedAt").asText());
        Instant secondStarted = Instant.parse(b.get("startedAt").asText());
        assertTrue(!secondStarted.isBefore(firstEnded), "job " + first + " (ended " + firstEnded + ") should have run before job "
                + second + " (started " + secondStarted + ")");
    }

    private JsonNode job(String id) {
        return kiln.get("/api/v1/jobs/" + id, KilnServer.ADMIN).json();
    }
}
