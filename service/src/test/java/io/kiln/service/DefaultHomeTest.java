package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Started as a new user starts it, with no KILN_HOME (state in ~/.kiln, datasets in ~/.kiln/data) or with a
 * relative one, the service keeps its database and job folders in that one place and runs jobs there; its
 * health check shows anonymous callers the status alone.
 */
class DefaultHomeTest {

    @Test
    void withoutKilnHomeEverythingIsUnderTheUsersDotKiln(@TempDir Path tmp) throws Exception {
        Path user = Files.createDirectories(tmp.resolve("user"));
        Path cwd = Files.createDirectories(tmp.resolve("cwd"));
        Path kiln = user.resolve(".kiln");
        TestData.write(kiln.resolve("data"), "tiny", 200, 50, 4);
        try (ServiceProcess s = ServiceProcess.start(Map.of(), List.of("-Duser.home=" + user), cwd, tmp.resolve("service.log"))) {
            String id = s.submit(TestData.spec("default-home", "tiny", 1));
            s.awaitState(id, "SUCCEEDED");
            assertTrue(Files.isRegularFile(kiln.resolve("jobs").resolve(id).resolve("checkpoint.kiln")));
            assertTrue(Files.isDirectory(kiln.resolve("db")));
            try (var left = Files.list(cwd)) {
                assertTrue(left.findAny().isEmpty(), "nothing written in the working directory");
            }

            KilnServer.Answer anonymous = s.getAnonymous("/health");
            assertEquals(200, anonymous.status());
            assertEquals("UP", anonymous.json().path("status").asText());
            assertFalse(anonymous.body().contains("jdbc"), "the database URL is not shown to anyone: " + anonymous.body());
            assertTrue(s.get("/health").body().contains("jdbc"), "an admin sees the details");
        }
    }

    @Test
    void aRelativeKilnHomeIsTakenFromTheWorkingDirectory(@TempDir Path tmp) throws Exception {
        Path cwd = Files.createDirectories(tmp.resolve("cwd"));
        TestData.write(cwd.resolve("state").resolve("data"), "tiny", 200, 50, 4);
        try (ServiceProcess s = ServiceProcess.start(Map.of("KILN_HOME", "state"), List.of(), cwd, tmp.resolve("service.log"))) {
            String id = s.submit(TestData.spec("relative-home", "tiny", 1));
            s.awaitState(id, "SUCCEEDED");
            assertTrue(Files.isRegularFile(cwd.resolve("state").resolve("jobs").resolve(id).resolve("checkpoint.kiln")));
        }
    }
}
