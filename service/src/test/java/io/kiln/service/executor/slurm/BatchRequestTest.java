package io.kiln.service.executor.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.service.executor.Launch;
import io.kiln.service.executor.Placement;
import io.kiln.service.store.JobRow;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What a run asks SLURM for, and the batch script that runs it. */
@Timeout(30)
class BatchRequestTest {
    static SlurmSettings settings(String cpuGres, int niceBase, List<String> extra) {
        return new SlurmSettings("gpu", "lab", "normal", 4, "1g", "gpu:a100:1", cpuGres, niceBase, 200,
                Duration.ofSeconds(5), Duration.ofSeconds(1), Duration.ofSeconds(10), Duration.ofSeconds(30), "kiln",
                null, null, extra, null);
    }

    static Launch launch(Path dir, int priority, boolean resume) {
        JobRow job = new JobRow(42L, "j", "alice", "{}", "cuda", priority, "RUNNING", null, "s", null, false, 2, 0, 5, 0,
                0, 0, null, null, null, Instant.EPOCH, null, null, 0, false, null, 0, null, null);
        return new Launch(job, new Placement("slurm:gpu", true, Set.of("cuda")), dir, dir.resolve("spec.json"),
                Path.of("/data"), resume, resume ? 3 : 0, null, null);
    }

    @Test
    void aGpuJobAsksForItsGpuCpusMemoryAndTime(@TempDir Path dir) {
        BatchRequest r = BatchRequest.of(launch(dir, 5, false), settings(null, 0, List.of()), "2g", Duration.ofSeconds(90),
                true, 123L << 20);
        assertEquals("kiln-42", r.name());
        assertEquals(2048, r.heapMiB(), "a GPU job's training memory is on the GPU, not in the heap");
        assertEquals(3072, r.memoryMiB(), "heap and overhead");
        assertEquals(2, r.timeMinutes(), "90 s rounded up to SLURM's minutes");
        assertEquals(-5, r.nice(), "nice base 0 minus priority 5");
        List<String> o = r.options(settings(null, 0, List.of("--constraint=a100")), dir);
        assertTrue(o.containsAll(List.of("--hold", "--job-name=kiln-42", "--partition=gpu", "--account=lab", "--qos=normal",
                "--gres=gpu:a100:1", "--cpus-per-task=4", "--mem=3072M", "--time=2", "--nice=-5", "--export=NONE",
                "--requeue", "--open-mode=append", "--chdir=" + dir, "--output=" + dir.resolve("slurm-%j.out"),
                "--error=" + dir.resolve("slurm-%j.err"), "--constraint=a100")), o.toString());
    }

    @Test
    void aCpuJobsHeapHoldsItsTrainingMemoryAndItAsksForTheCpuGres(@TempDir Path dir) {
        BatchRequest r = BatchRequest.of(launch(dir, 0, false), settings("gpu:1", 100, List.of()), "512m", null, false,
                (300L << 20) + 1);
        assertEquals(512 + 301, r.heapMiB());
        assertEquals(512 + 301 + 1024, r.memoryMiB());
        assertEquals("gpu:1", r.gres());
        assertEquals(100, r.nice());
        List<String> o = r.options(settings("gpu:1", 100, List.of()), dir);
        assertTrue(o.contains("--gres=gpu:1") && o.contains("--nice=100"), o.toString());
        assertFalse(o.stream().anyMatch(s -> s.startsWith("--time")), "no time limit without kiln.max-job-duration");
        BatchRequest plain = BatchRequest.of(launch(dir, 0, false), settings("", 0, List.of()), "512m", null, false, 0);
        assertFalse(plain.options(settings("", 0, List.of()), dir).stream().anyMatch(s -> s.startsWith("--gres")
                || s.startsWith("--nice")), "no GRES and no nice when none is asked for");
    }

    /** As Java's heap option reads a size, rounded up to whole MiB. */
    @ParameterizedTest
    @CsvSource({"512m, 512", "2G, 2048", "1k, 1", "1048577, 2"})
    void sizesAreReadAsJavasHeapOption(String size, long mebibytes) {
        assertEquals(mebibytes, BatchRequest.mebibytes(size));
    }

    /** The script is run by a real shell: the engine's command, quoted, and --resume when planned or requeued. */
    @Test
    void theScriptRunsTheEnginesTrainAndResumesWhenSlurmRequeuedIt(@TempDir Path dir) throws Exception {
        Path fakeJava = dir.resolve("fake java");
        Files.writeString(fakeJava, "#!/bin/sh\nfor a in \"$@\"; do echo \"[$a]\"; done\n");
        assertTrue(fakeJava.toFile().setExecutable(true));
        BatchRequest r = BatchRequest.of(launch(dir, 0, false), settings(null, 0, List.of()), "1g", null, true, 0);
        Path script = dir.resolve(BatchRequest.SCRIPT_FILE);
        Files.writeString(script, r.script(launch(dir, 0, false), fakeJava.toString(), "/a b/x.jar:/it's/y.jar", "Main"));
        String first = run(script, null);
        assertTrue(first.contains("[-Xmx1024m]\n[-XX:ActiveProcessorCount=4]\n[-XX:+ExitOnOutOfMemoryError]\n"
                + "[--enable-native-access=ALL-UNNAMED]\n[-XX:+UseSerialGC]\n[-Xmn64m]\n[--add-modules=jdk.incubator.vector]\n"), first);
        assertTrue(first.contains("[-cp]\n[/a b/x.jar:/it's/y.jar]\n[Main]\n[train]\n[--spec]\n[" + dir.resolve("spec.json")
                + "]\n"), first);
        assertTrue(first.contains("[--device]\n[cuda:0]\n"), "a GPU job trains on the GPU SLURM gives it: " + first);
        assertFalse(first.contains("--resume"), first);
        assertTrue(run(script, "1").endsWith("[--resume]\n"), "requeued by SLURM: resume");
        Files.writeString(script, r.script(launch(dir, 0, true), fakeJava.toString(), "cp", "Main"));
        assertTrue(run(script, null).endsWith("[--resume]\n"), "a planned resume");
    }

    private static String run(Path script, String restartCount) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", script.toString()).redirectErrorStream(true);
        pb.environment().remove("SLURM_RESTART_COUNT");
        if (restartCount != null) {
            pb.environment().put("SLURM_RESTART_COUNT", restartCount);
        }
        Process p = pb.start();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.exitValue(), out);
        return out;
    }
}
