package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The per-user running limit (kiln.max-running-per-user) holds across servers: two servers share one queue (an
 * in-memory H2 database both open, as servers share PostgreSQL), each with a CPU slot, so a second slot is free
 * while a user's first job runs, and the limit is all that keeps their second job waiting.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class RunningLimitTest {
    static final Duration TIMEOUT = Duration.ofSeconds(90);
    /** Several scheduler ticks (500 ms each) of both servers. */
    static final long TICKS_MILLIS = 2500;

    @Test
    void aUsersSecondJobWaitsWhileAnotherUsersJobTakesTheFreeSlot(@TempDir Path home) throws Exception {
        TestData.write(home.resolve("data"), "tiny", 100, 40, 4);
        String db = "jdbc:h2:mem:kiln-running-limit-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1;LOCK_TIMEOUT=10000;DATABASE_TO_LOWER=TRUE";
        Map<String, Object> limited = Map.of("kiln.max-running-per-user", "1");
        try (KilnServer one = new KilnServer(home, home.resolve("data"), db, limited);
             KilnServer two = new KilnServer(home, home.resolve("data"), db, limited)) {
            String hal = ApiTestSupport.token(one, "hal");
            String ivy = ApiTestSupport.token(one, "ivy");
            String first = one.submit(TestData.spec("hal-1", "tiny", 5000), hal);
            one.awaitState(first, "RUNNING", TIMEOUT);
            String second = one.submit(TestData.spec("hal-2", "tiny", 5000), hal);
            Thread.sleep(TICKS_MILLIS);
            assertEquals("QUEUED", state(one, second), "one running job is Hal's limit, though a slot is free");

            // The free slot was there all along: another user's job takes it at once.
            String other = two.submit(TestData.spec("ivy-1", "tiny", 1), ivy);
            two.awaitState(other, "SUCCEEDED", TIMEOUT);
            Thread.sleep(TICKS_MILLIS);
            assertEquals("QUEUED", state(two, second), "still waiting for Hal's first job with both servers' slots seen free");

            assertEquals(200, two.post("/api/v1/jobs/" + first + "/cancel", hal, null).status());
            one.awaitState(first, "CANCELLED", TIMEOUT);
            one.awaitState(second, "RUNNING", TIMEOUT);
            assertEquals(200, one.post("/api/v1/jobs/" + second + "/cancel", hal, null).status());
            one.awaitState(second, "CANCELLED", TIMEOUT);
        }
    }

    private static String state(KilnServer server, String id) {
        return server.get("/api/v1/jobs/" + id, KilnServer.ADMIN).json().get("state").asText();
    }
}
