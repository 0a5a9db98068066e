package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The rules of the queue that need no job to run, over real HTTP: a server without a slot (kiln.cpu-slot=off,
 * and its "cpu" jobs never fit a GPU), so every job it is given stays QUEUED for as long as the test wants it
 * there. Cancelling a queued job, the admin-only priority, the per-user queued limit, list parameters and
 * paging, 404s, and the checks of a fine-tuning source.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class QueueRulesApiTest {
    static final int QUEUED_LIMIT = 2;
    @AutoClose
    KilnServer kiln;
    String spec;

    @BeforeAll
    void start() throws IOException {
        kiln = KilnServer.onTinyData("kiln-queue-rules", 100, 40, Map.of("kiln.cpu-slot", "off",
                "kiln.max-queued-per-user", Integer.toString(QUEUED_LIMIT)));
        spec = TestData.spec("queued", "tiny", 1);
    }

    @Test
    void aQueuedJobIsCancelledAtOnceByItsOwnerAndOnlyOnce() {
        String alice = ApiTestSupport.token(kiln, "alice");
        String bob = ApiTestSupport.token(kiln, "bob");
        KilnServer.Answer submitted = kiln.post("/api/v1/jobs", alice, spec);
        assertEquals(201, submitted.status(), submitted.body());
        assertEquals("QUEUED", submitted.json().get("state").asText());
        String id = submitted.json().get("id").asText();

        KilnServer.Answer denied = kiln.post("/api/v1/jobs/" + id + "/cancel", bob, null);
        assertEquals(403, denied.status(), denied.body());
        assertTrue(denied.json().get("message").asText().contains("belongs to alice"), denied.body());
        assertEquals("QUEUED", kiln.get("/api/v1/jobs/" + id, bob).json().get("state").asText(), "a refusal changes nothing");

        // A queued job has no worker to wait for: the answer is already the final state.
        KilnServer.Answer cancelled = kiln.post("/api/v1/jobs/" + id + "/cancel", alice, null);
        assertEquals(200, cancelled.status(), cancelled.body());
        assertEquals("CANCELLED", cancelled.json().get("state").asText(), cancelled.body());
        assertTrue(cancelled.json().get("finishedAt").isTextual(), cancelled.body());
        assertTrue(cancelled.json().get("startedAt").isNull(), "it never ran: " + cancelled.body());

        for (String who : List.of(alice, KilnServer.ADMIN)) {
            KilnServer.Answer again = kiln.post("/api/v1/jobs/" + id + "/cancel", who, null);
            assertEquals(409, again.status(), again.body());
            assertTrue(again.json().get("message").asText().contains("has already ended (CANCELLED)"), again.body());
        }
    }

    @Test
    void onlyAnAdminMaySetAPriority() {
        String erin = ApiTestSupport.token(kiln, "erin");
        KilnServer.Answer refused = kiln.post("/api/v1/jobs?priority=5", erin, spec);
        assertEquals(403, refused.status(), refused.body());
        assertTrue(refused.json().get("message").asText().contains("only an admin may set a priority"), refused.body());
        assertEquals(0, kiln.get("/api/v1/jobs?user=erin", erin).json().get("total").asInt(), "nothing was queued");

        KilnServer.Answer plain = kiln.post("/api/v1/jobs?priority=0", erin, spec);
        assertEquals(201, plain.status(), "priority 0 is everyone's: " + plain.body());
        assertEquals(0, plain.json().get("priority").asInt());

        String ops = ApiTestSupport.token(kiln, "ops", "admin");
        KilnServer.Answer urgent = kiln.post("/api/v1/jobs?priority=7", ops, spec);
        assertEquals(201, urgent.status(), urgent.body());
        assertEquals(7, urgent.json().get("priority").asInt());
        assertEquals(7, kiln.get("/api/v1/jobs/" + urgent.json().get("id").asText(), erin).json().get("priority").asInt());
        cancel(plain, urgent);
    }

    @Test
    void theQueuedLimitIsPerUserAndCountsOnlyQueuedJobs() {
        String carol = ApiTestSupport.token(kiln, "carol");
        String dave = ApiTestSupport.token(kiln, "dave");
        String first = kiln.submit(spec, carol);
        kiln.submit(spec, carol);
        KilnServer.Answer over = kiln.post("/api/v1/jobs", carol, spec);
        assertEquals(429, over.status(), over.body());
        String message = over.json().get("message").asText();
        assertTrue(message.contains("carol already has 2 queued jobs") && message.contains("the limit is 2"), message);

        assertEquals(201, kiln.post("/api/v1/jobs", dave, spec).status(), "another user's queue is not full");
        assertEquals(200, kiln.post("/api/v1/jobs/" + first + "/cancel", carol, null).status());
        assertEquals(201, kiln.post("/api/v1/jobs", carol, spec).status(), "a cancelled job no longer counts");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            unknown state      | state=DONE      | state | state: must be one of QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED
            lower-case state   | state=queued    | state | state: must be one of QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED
            negative page      | page=-1         | page  | page: must be >= 0, got -1
            zero size          | size=0          | size  | size: must be between 1 and 500, got 0
            negative size      | size=-5         | size  | size: must be between 1 and 500, got -5
            too large a size   | size=501        | size  | size: must be between 1 and 500, got 501
            """)
    void badListParametersAreRefusedSayingWhy(String rule, String query, String field, String message) {
        KilnServer.Answer a = kiln.get("/api/v1/jobs?" + query, KilnServer.ADMIN);
        assertEquals(400, a.status(), rule + ": " + a.body());
        assertEquals(message, a.json().get("message").asText(), rule);
        assertEquals(field, a.json().path("field").asText(), rule + ": " + a.body());
    }

    @ParameterizedTest
    @ValueSource(strings = {"size=abc", "page=1.5", "page=x"})
    void listParametersThatAreNotNumbersAreA400(String query) {
        KilnServer.Answer a = kiln.get("/api/v1/jobs?" + query, KilnServer.ADMIN);
        assertEquals(400, a.status(), query + ": " + a.body());
        assertTrue(a.json().path("message").isTextual(), "one error shape: " + a.body());
    }

    @Test
    void theListFiltersByUserAndStateNewestFirstInPages() {
        String lister = ApiTestSupport.token(kiln, "lister");
        String oldest = kiln.submit(spec, lister);
        String newest = kiln.submit(spec, lister);
        JsonNode all = kiln.get("/api/v1/jobs?user=lister", KilnServer.ADMIN).json();
        assertEquals(2, all.get("total").asInt(), all.toString());
        assertEquals(List.of(newest, oldest), ApiTestSupport.ids(all), "newest first");

        JsonNode second = kiln.get("/api/v1/jobs?user=lister&size=1&page=1", KilnServer.ADMIN).json();
        assertEquals(List.of(oldest), ApiTestSupport.ids(second));
        assertEquals(2, second.get("total").asInt(), "the total counts every page");
        assertEquals(1, second.get("size").asInt());
        assertEquals(1, second.get("page").asInt());
        assertEquals(List.of(), ApiTestSupport.ids(kiln.get("/api/v1/jobs?user=lister&size=1&page=2", KilnServer.ADMIN).json()));

        assertEquals(2, kiln.get("/api/v1/jobs?user=lister&state=QUEUED", KilnServer.ADMIN).json().get("total").asInt());
        assertEquals(0, kiln.get("/api/v1/jobs?user=lister&state=SUCCEEDED", KilnServer.ADMIN).json().get("total").asInt());
        kiln.post("/api/v1/jobs/" + oldest + "/cancel", lister, null);
        JsonNode cancelled = kiln.get("/api/v1/jobs?user=lister&state=CANCELLED", lister).json();
        assertEquals(List.of(oldest), ApiTestSupport.ids(cancelled), "every user sees the queue");
        kiln.post("/api/v1/jobs/" + newest + "/cancel", lister, null);
    }

    @ParameterizedTest
    @ValueSource(strings = {"GET /api/v1/jobs/987654", "GET /api/v1/jobs/987654/metrics", "GET /api/v1/jobs/987654/log",
            "GET /api/v1/jobs/987654/checkpoint", "GET /api/v1/jobs/987654/report", "GET /api/v1/jobs/987654/events",
            "POST /api/v1/jobs/987654/cancel"})
    void anUnknownJobIsA404NamingIt(String request) {
        String[] r = request.split(" ");
        KilnServer.Answer a = kiln.send(r[0], r[1], KilnServer.ADMIN, null);
        assertEquals(404, a.status(), request + ": " + a.body());
        assertEquals("no job 987654", a.json().get("message").asText(), request);
    }

    @Test
    void anUnknownSweepIsA404NamingIt() {
        KilnServer.Answer a = kiln.get("/api/v1/sweeps/987654", KilnServer.ADMIN);
        assertEquals(404, a.status(), a.body());
        assertEquals("no sweep 987654", a.json().get("message").asText());
    }

    @Test
    void aJobThatHasNotRunHasNoCheckpointOrReport() {
        KilnServer.Answer queued = kiln.post("/api/v1/jobs", KilnServer.ADMIN, spec);
        String id = queued.json().get("id").asText();
        for (String what : List.of("checkpoint", "report")) {
            KilnServer.Answer a = kiln.get("/api/v1/jobs/" + id + "/" + what, KilnServer.ADMIN);
            assertEquals(404, a.status(), what + ": " + a.body());
            assertTrue(a.json().get("message").asText().contains("job " + id + " has no checkpoint yet"), a.body());
        }
        cancel(queued);
    }

    @Test
    void aFineTuningSourceMustBeAJobWithACheckpoint() {
        KilnServer.Answer queued = kiln.post("/api/v1/jobs", KilnServer.ADMIN, spec);
        String id = queued.json().get("id").asText();
        assertRefused(fineTune("\"fromJob\":\"987654\""), "init.fromJob", "no job 987654");
        assertRefused(fineTune("\"fromJob\":\"last\""), "init.fromJob", "must be a job id, got \"last\"");
        assertRefused(fineTune("\"fromJob\":\"" + id + "\""), "init.fromJob", "job " + id + " has no checkpoint yet");
        assertRefused(fineTune("\"checkpoint\":\"/tmp/weights.kiln\""), "init.checkpoint", "fine-tune from a job with \"fromJob\"");
        cancel(queued);
    }

    private String fineTune(String init) {
        return spec.replace("\"device\":\"cpu\"", "\"device\":\"cpu\",\"init\":{" + init + "}");
    }

    private void assertRefused(String body, String field, String message) {
        KilnServer.Answer a = kiln.post("/api/v1/jobs", KilnServer.ADMIN, body);
        assertEquals(400, a.status(), a.body());
        assertEquals(field, a.json().get("field").asText(), a.body());
        assertTrue(a.json().get("message").asText().contains(message), a.body());
    }

    private void cancel(KilnServer.Answer... submitted) {
        for (KilnServer.Answer s : submitted) {
            assertEquals(200, kiln.post("/api/v1/jobs/" + s.json().get("id").asText() + "/cancel", KilnServer.ADMIN, null).status());
        }
    }
}
