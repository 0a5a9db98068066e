package io.kiln.service.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.service.executor.slurm.SlurmSettings;
import io.micronaut.context.ApplicationContext;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The settings as the service binds them: defaults, the values kiln.cpu-slot accepts, bounds that stop the start
 * naming the setting, and the paths derived from them.
 */
@Timeout(60)
class KilnConfigTest {
    /**
     * Binds the settings as the service does at start-up, in a context without an HTTP server and with a database
     * in memory (the scheduler, which waits for the server, stays idle).
     */
    static KilnConfig bind(Map<String, Object> settings) {
        return bind(settings, KilnConfig.class);
    }

    static <T> T bind(Map<String, Object> settings, Class<T> type) {
        Map<String, Object> p = new HashMap<>(DatabaseSettings.forUrl("jdbc:h2:mem:kiln-config-" + UUID.randomUUID()
                + ";DB_CLOSE_DELAY=-1;DATABASE_TO_LOWER=TRUE", Path.of("unused")));
        p.put("kiln.home", System.getProperty("java.io.tmpdir"));
        p.putAll(settings);
        try (ApplicationContext c = ApplicationContext.builder().properties(p).build()) {
            return c.start().getBean(type);
        }
    }

    @Test
    void defaultsAreTheDocumentedOnes() {
        KilnConfig c = bind(Map.of());
        assertEquals("local", c.executor());
        assertEquals(CpuSlot.AUTO, c.cpuSlot());
        assertEquals("2g", c.workerHeap());
        assertEquals(100, c.maxQueuedPerUser());
        assertEquals(4, c.maxRunningPerUser());
        assertEquals(Duration.ofSeconds(10), c.cancelGrace());
        assertEquals(Duration.ofSeconds(5), c.heartbeatInterval());
        assertEquals(Duration.ofSeconds(60), c.staleAfter());
        assertEquals(3, c.maxAttempts());
        assertNull(c.maxJobDuration());
        assertNull(c.adminToken());
        assertNull(c.serverId());
    }

    @Test
    void theLimitsDefaultsAreTheDocumentedOnes() {
        KilnLimits l = bind(Map.of(), KilnLimits.class);
        assertEquals(2L << 30, l.uploadLimitBytes());
        assertEquals(8L << 30, l.uploadMaxUnpackedBytes());
        assertEquals(100, l.uploadMaxExpansion());
        assertEquals(8L << 20, l.uploadExpansionGraceBytes());
        assertEquals(200_000, l.uploadMaxFiles());
        assertEquals(4096, l.uploadMaxNameBytes());
        assertEquals(2, l.maxConcurrentUploads());
        assertEquals(64, l.predictMaxImages());
        assertEquals(16L << 20, l.predictMaxImageBytes());
        assertEquals(4096L * 4096, l.predictMaxPixels());
        assertEquals(java.util.List.of(20, 100, 500), l.reportSizes());
        assertEquals(64L << 20, l.reportCacheBytes());
        assertEquals(1 << 20, l.maxJsonBytes());
        assertEquals(32, l.maxJsonDepth());
        assertEquals(Duration.ofSeconds(5), l.storeProbeInterval());
        assertEquals(1L << 20, l.outageLogBytes());
        assertTrue(l.memoryCheck());
        assertEquals(20, l.reportSize(0));
        assertEquals(100, l.reportSize(21));
        assertEquals(500, l.reportSize(2000), "beyond the largest size, the largest");
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', textBlock = """
            kiln.upload-limit-bytes            | 1000    | kiln.upload-limit-bytes: must be at least 1048576 (1 MiB)
            kiln.upload-limit-bytes            | 1099511627777 | kiln.upload-limit-bytes: must be at most 1099511627776 (1 TiB)
            kiln.upload-max-unpacked-bytes     | 1000    | kiln.upload-max-unpacked-bytes: must be at least 1048576 (1 MiB)
            kiln.upload-max-expansion          | 1       | kiln.upload-max-expansion: must be at least 2
            kiln.upload-expansion-grace-bytes  | -1      | kiln.upload-expansion-grace-bytes: must be at least 0
            kiln.upload-max-files              | 0       | kiln.upload-max-files: must be at least 1
            kiln.upload-max-name-bytes         | 99      | kiln.upload-max-name-bytes: must be at least 100
            kiln.max-concurrent-uploads        | 0       | kiln.max-concurrent-uploads: must be at least 1
            kiln.predict-max-images            | 0       | kiln.predict-max-images: must be at least 1
            kiln.predict-max-image-bytes       | 10      | kiln.predict-max-image-bytes: must be at least 1024
            kiln.predict-max-pixels            | 0       | kiln.predict-max-pixels: must be at least 1
            kiln.report-sizes                  | 0,100   | kiln.report-sizes
            kiln.report-cache-bytes            | -1      | kiln.report-cache-bytes: must be at least 0
            kiln.report-cache-bytes            | 68719476737 | kiln.report-cache-bytes: must be at most 68719476736 (64 GiB)
            kiln.max-json-bytes                | 100     | kiln.max-json-bytes: must be at least 1024
            kiln.max-json-depth                | 501     | kiln.max-json-depth: must be at most 500
            kiln.store-probe-interval          | 10ms    | kiln.store-probe-interval: must be between 100ms and 10m
            kiln.outage-log-bytes              | -1      | kiln.outage-log-bytes: must be at least 0
            """)
    void aLimitOutOfBoundsStopsTheStartNamingIt(String key, String value, String said) {
        Exception e = assertThrows(Exception.class, () -> bind(Map.of(key, value), KilnLimits.class));
        String all = messages(e);
        assertTrue(all.contains(said), all);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"true, ON", "on, ON", "ON, ON", "false, OFF", "off, OFF", "auto, AUTO"})
    void theCpuSlotTakesAutoOnOffAndTheOldBooleans(String text, CpuSlot expected) {
        assertEquals(expected, CpuSlot.parse(text));
    }

    @Test
    void theCpuSlotIsOnByDefaultOnlyWithoutAGpu() {
        assertTrue(CpuSlot.AUTO.enabled(0));
        assertTrue(!CpuSlot.AUTO.enabled(2));
        assertTrue(CpuSlot.ON.enabled(2));
        assertTrue(!CpuSlot.OFF.enabled(0));
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', textBlock = """
            kiln.cpu-slot            | maybe  | kiln.cpu-slot
            kiln.executor            | pbs    | kiln.executor
            kiln.worker-heap         | lots   | kiln.worker-heap
            kiln.max-queued-per-user | 0      | kiln.max-queued-per-user: must be at least 1
            kiln.max-running-per-user| 0      | kiln.max-running-per-user: must be at least 1
            kiln.max-attempts        | 0      | kiln.max-attempts: must be at least 1
            kiln.max-attempts        | 101    | kiln.max-attempts: must be at most 100
            kiln.cancel-grace        | 11m    | kiln.cancel-grace: must be between 0s and 10m
            kiln.heartbeat-interval  | 10ms   | kiln.heartbeat-interval: must be between 100ms and 10m
            kiln.stale-after         | 2d     | kiln.stale-after: must be between 1s and 1d
            kiln.max-job-duration    | 500ms  | kiln.max-job-duration: must be between 1s and 365d
            kiln.stale-after         | 9s     | kiln.stale-after (9s) must be at least 2 times kiln.heartbeat-interval (5s)
            """)
    void aValueOutOfBoundsStopsTheStartNamingTheSetting(String key, String value, String named) {
        Exception e = assertThrows(Exception.class, () -> bind(Map.of(key, value)));
        String all = messages(e);
        assertTrue(all.contains(named.replace("(9s)", "(PT9S)").replace("(5s)", "(PT5S)")), all);
    }

    @Test
    void theSlurmSettingsDefaultsAreTheDocumentedOnes() {
        SlurmSettings s = bind(Map.of(), SlurmSettings.class);
        assertNull(s.partition());
        assertEquals(4, s.cpusPerJob());
        assertEquals("1g", s.memoryOverhead());
        assertEquals("gpu:1", s.gpuGres());
        assertNull(s.cpuGres());
        assertEquals(0, s.niceBase());
        assertEquals(200, s.maxSubmitted());
        assertEquals(Duration.ofSeconds(5), s.pollInterval());
        assertEquals(Duration.ofSeconds(1), s.readInterval());
        assertEquals(Duration.ofSeconds(10), s.outputWait());
        assertEquals(Duration.ofSeconds(30), s.commandTimeout());
        assertEquals("kiln", s.jobNamePrefix());
        assertEquals(java.util.List.of(), s.sbatchOptions());
        assertEquals(SlurmSettings.UNPLACEABLE_BY_DEFAULT, s.unplaceableReasons());
        assertEquals(java.util.List.of("BadConstraints", "PartitionTimeLimit"), s.unplaceableReasons());
    }

    /** A lab may keep such jobs waiting (an empty list), or name reasons of its own, as application.yml says. */
    @Test
    void theUnplaceableReasonsAreTheLabsToChoose() {
        assertEquals(java.util.List.of(), bind(Map.of("kiln.slurm.unplaceable-reasons", java.util.List.of()),
                SlurmSettings.class).unplaceableReasons());
        assertEquals(java.util.List.of("BadConstraints", "InvalidQOS"), bind(Map.of("kiln.slurm.unplaceable-reasons",
                "BadConstraints,InvalidQOS"), SlurmSettings.class).unplaceableReasons());
    }

    @ParameterizedTest(name = "{0}={1}")
    @CsvSource(delimiter = '|', textBlock = """
            kiln.slurm.partition        | 'gpu;rm -rf' | kiln.slurm.partition
            kiln.slurm.cpus-per-job     | 0            | kiln.slurm.cpus-per-job: must be at least 1
            kiln.slurm.memory-overhead  | lots         | kiln.slurm.memory-overhead
            kiln.slurm.gpu-gres         | 'gpu 1'      | kiln.slurm.gpu-gres
            kiln.slurm.max-submitted    | 0            | kiln.slurm.max-submitted: must be at least 1
            kiln.slurm.poll-interval    | 10ms         | kiln.slurm.poll-interval: must be between 200ms and 10m
            kiln.slurm.command-timeout  | 0s           | kiln.slurm.command-timeout: must be between 1s and 10m
            kiln.slurm.job-name-prefix  | kiln-x       | kiln.slurm.job-name-prefix
            kiln.slurm.sbatch-options   | -w node1     | kiln.slurm.sbatch-options
            """)
    void aSlurmSettingOutOfBoundsStopsTheStartNamingIt(String key, String value, String named) {
        Exception e = assertThrows(Exception.class, () -> bind(Map.of(key, value), SlurmSettings.class));
        assertTrue(messages(e).contains(named), messages(e));
    }

    @Test
    void valuesInsideTheBoundsAreTaken() {
        KilnConfig c = bind(Map.of("kiln.max-attempts", "5", "kiln.cancel-grace", "0s", "kiln.heartbeat-interval", "1s",
                "kiln.stale-after", "30s", "kiln.max-job-duration", "2h", "kiln.worker-heap", "512m",
                "kiln.server-id", "gpu-3", "kiln.admin-token", " ", "kiln.cpu-slot", "true"));
        assertEquals(CpuSlot.ON, c.cpuSlot(), "the setting's old boolean form");
        assertEquals(5, c.maxAttempts());
        assertEquals(Duration.ZERO, c.cancelGrace());
        assertEquals(Duration.ofHours(2), c.maxJobDuration());
        assertEquals("gpu-3", c.serverId());
        assertNull(c.adminToken(), "a blank token is none");
    }

    @Test
    void pathsAreAbsoluteAndUnderTheHome(@TempDir Path tmp) {
        KilnPaths p = new KilnPaths(bind(Map.of("kiln.home", tmp.resolve("state/../home").toString())));
        Path home = tmp.resolve("home").toAbsolutePath();
        assertEquals(home, p.home());
        assertEquals(home.resolve("data"), p.dataRoot(), "the data root defaults to the home's data folder");
        assertEquals(home.resolve("jobs").resolve("7").resolve("checkpoint.kiln"), p.checkpoint(7));
        assertEquals(home.resolve("jobs").resolve("7").resolve("events.jsonl"), p.events(7));
        assertEquals(home.resolve("jobs").resolve("7").resolve("spec.json"), p.spec(7));
        assertTrue(KilnPaths.h2Url(home).startsWith("jdbc:h2:file:" + home.resolve("db").resolve("kiln") + ";"));

        KilnPaths relative = new KilnPaths(Path.of("state"), "datasets");
        assertEquals(Path.of("state").toAbsolutePath(), relative.home(), "relative to the working directory");
        assertEquals(Path.of("datasets").toAbsolutePath(), relative.dataRoot());
        assertEquals(Path.of(System.getProperty("user.home"), ".kiln").toAbsolutePath(), KilnPaths.resolveHome(" "));
    }

    private static String messages(Throwable e) {
        StringBuilder s = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            s.append(t.getMessage()).append('\n');
        }
        return s.toString();
    }
}
