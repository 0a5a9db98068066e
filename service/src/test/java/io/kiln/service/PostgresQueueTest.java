package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Several Kiln servers sharing one PostgreSQL queue (a real server: .ci/setup-postgres.sh starts one and sets
 * KILN_TEST_PG_URL). Each job is claimed by exactly one server, both servers work, and a job whose server stopped
 * heartbeating is taken over by another.
 */
@ExtendWith(TestPostgres.FreshForEach.class)
@Timeout(400)
class PostgresQueueTest {
    static final Duration TIMEOUT = Duration.ofSeconds(180);
    static final String URL = TestPostgres.URL;

    /**
     * A server that heartbeats every second but waits 30 s before it takes over another's job: a tick delayed by a
     * busy machine (two servers and their workers on two cores) must not look like a dead server. A server that
     * really went silent is an hour old here, so the takeover still comes at the first heartbeat.
     */
    static Map<String, Object> server(String id) {
        return Map.of("kiln.server-id", id, "kiln.heartbeat-interval", "1s", "kiln.stale-after", "30s");
    }

    @Test
    void twoServersShareOneQueueAndClaimEachJobOnce(@TempDir Path home) throws IOException {
        Path data = home.resolve("data");
        TestData.write(data, "tiny", 600, 200, 4);
        try (KilnServer a = new KilnServer(home, data, URL, server("server-a"));
             KilnServer b = new KilnServer(home, data, URL, server("server-b"))) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                ids.add((i % 2 == 0 ? a : b).submit(TestData.spec("shared-" + i, "tiny", 40)));
            }
            Set<String> servers = new HashSet<>();
            for (String id : ids) {
                JsonNode job = a.awaitState(id, "SUCCEEDED", TIMEOUT);
                assertEquals(1, job.path("attempts").asInt(), "job " + id + " was claimed once");
                String log = b.get("/api/v1/jobs/" + id + "/log", KilnServer.ADMIN).body();
                assertEquals(1, log.lines().filter(l -> l.startsWith("kiln: starting on")).count(), log);
                servers.add(log.contains("of server-a") ? "a" : "b");
            }
            assertEquals(Set.of("a", "b"), servers, "both servers ran jobs");
            assertEquals(6, a.get("/api/v1/jobs?state=SUCCEEDED", KilnServer.ADMIN).json().get("total").asInt());
        }
    }

    @Test
    void aJobOfASilentServerIsTakenOver(@TempDir Path home) throws IOException, SQLException {
        Path data = home.resolve("data");
        TestData.write(data, "tiny", 600, 200, 4);
        Map<String, Object> noSlot = new java.util.HashMap<>(server("server-b"));
        noSlot.put("kiln.cpu-slot", "off");
        try (KilnServer b = new KilnServer(home, data, URL, noSlot)) {
            String id = b.submit(TestData.spec("orphan", "tiny", 20));
            // A server that claimed the job and then went silent.
            try (Connection c = DriverManager.getConnection(URL); Statement s = c.createStatement()) {
                assertEquals(1, s.executeUpdate("UPDATE jobs SET state = 'RUNNING', server_id = 'ghost', attempts = 1, "
                        + "heartbeat_at = NOW() - INTERVAL '1 hour' WHERE id = " + id));
            }
            // b has no slot of its own: the job can only go back to the queue, not run there.
            JsonNode queued = b.awaitState(id, "QUEUED", Duration.ofSeconds(30));
            assertTrue(queued.path("error").asText().contains("ghost stopped heartbeating"), queued.toString());
            try (KilnServer c = new KilnServer(home, data, URL, server("server-c"))) {
                JsonNode done = c.awaitState(id, "SUCCEEDED", TIMEOUT);
                assertEquals(2, done.path("attempts").asInt());
            }
        }
    }
}
