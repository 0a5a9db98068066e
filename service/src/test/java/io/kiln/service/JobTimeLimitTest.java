package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** kiln.max-job-duration: a job that runs past it is stopped and fails, saying that the time limit stopped it. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class JobTimeLimitTest {
    static final Duration TIMEOUT = Duration.ofSeconds(60);

    @Test
    void aJobPastTheTimeLimitFailsWithThatReason(@TempDir Path home) throws IOException {
        TestData.write(home.resolve("data"), "tiny", 100, 40, 4);
        try (KilnServer kiln = new KilnServer(home, home.resolve("data"), null,
                Map.of("kiln.max-job-duration", "4s"))) {
            String id = kiln.submit(TestData.spec("endless", "tiny", 10_000));
            JsonNode failed = kiln.awaitJob(id, j -> j.path("state").asText().matches("SUCCEEDED|FAILED|CANCELLED"), TIMEOUT);
            assertEquals("FAILED", failed.get("state").asText(), failed.toString());
            assertEquals("stopped at the time limit of PT4S (kiln.max-job-duration)", failed.get("error").asText());
            assertTrue(failed.get("progress").get("epoch").asInt() < 10_000, "stopped long before the end");
            Duration ran = Duration.between(Instant.parse(failed.get("startedAt").asText()),
                    Instant.parse(failed.get("finishedAt").asText()));
            assertTrue(ran.compareTo(Duration.ofSeconds(4)) >= 0, "not before the limit: " + ran);

            String log = kiln.get("/api/v1/jobs/" + id + "/log", KilnServer.ADMIN).body();
            assertEquals(1, log.lines().filter(l -> l.contains("time limit of PT4S reached")).count(),
                    "the stop is logged once: " + log.lines().filter(l -> l.startsWith("kiln")).toList());
        }
    }
}
