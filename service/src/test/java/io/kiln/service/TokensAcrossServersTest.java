package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two Kiln servers sharing one PostgreSQL database (KILN_TEST_PG_URL): a token revoked, or a user disabled, on one
 * is refused by the other at its very next request. Nothing about tokens is cached.
 */
@ExtendWith(TestPostgres.FreshForEach.class)
@Timeout(180)
class TokensAcrossServersTest {
    static final String URL = TestPostgres.URL;

    @Test
    void aRevocationOrADisabledUserIsSeenByEveryServerAtOnce(@TempDir Path home) throws IOException {
        Path data = home.resolve("data");
        TestData.write(data, "tiny", 100, 40, 4);
        Map<String, Object> noSlot = Map.of("kiln.cpu-slot", "off");
        try (KilnServer a = new KilnServer(home, data, URL, noSlot); KilnServer b = new KilnServer(home, data, URL, noSlot)) {
            String first = a.user("alice", "user");
            String second = a.user("alice", "user");
            // used on both: each has looked the token up
            for (int i = 0; i < 3; i++) {
                assertEquals(200, a.get("/api/v1/jobs", first).status());
                assertEquals(200, b.get("/api/v1/jobs", first).status());
            }
            String id = b.get("/api/v1/me", first).json().path("token").path("id").asText();
            assertEquals(204, a.delete("/api/v1/users/alice/tokens/" + id, first).status());
            KilnServer.Answer onB = b.get("/api/v1/jobs", first);
            assertEquals(401, onB.status(), "revoked on a, refused by b at once: " + onB.body());
            assertTrue(onB.json().get("message").asText().contains("unknown or was revoked"), onB.body());
            assertEquals(200, b.get("/api/v1/jobs", second).status());

            JsonNode off = b.patch("/api/v1/users/alice", KilnServer.ADMIN, "{\"disabled\": true}").json();
            assertTrue(off.get("disabled").asBoolean());
            KilnServer.Answer onA = a.get("/api/v1/jobs", second);
            assertEquals(401, onA.status(), "disabled on b, refused by a at once: " + onA.body());
            assertTrue(onA.json().get("message").asText().contains("user alice is disabled"), onA.body());
        }
    }
}
