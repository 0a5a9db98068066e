package io.kiln.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.train.TinyData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker that runs out of Java heap exits 3, the out-of-memory code, distinct from a diverged loss (5): run
 * for real in a JVM of 48 MiB, once with -XX:+ExitOnOutOfMemoryError as the service starts workers (the JVM
 * itself exits 3, saying so on standard output) and once without (the engine catches the error).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OutOfMemoryExitTest {
    /** A dense layer of 2^20 units on 8x8 images: 64 Mi weights, 256 MiB, far beyond a 48 MiB heap. */
    static final String SPEC = """
            {"name":"big","data":{"name":"tiny"},
             "model":{"layers":[{"type":"flatten"},{"type":"dense","units":1048576},{"type":"relu"},{"type":"dense","units":4}]},
             "optimizer":{"type":"sgd","lr":0.05},"training":{"epochs":1,"batchSize":8},"device":"cpu"}""";

    record Exit(int code, String stdout) {
    }

    static Exit train(Path tmp, boolean exitOnOutOfMemory) throws IOException, InterruptedException {
        Path root = tmp.resolve("data");
        if (!Files.isDirectory(root.resolve("tiny"))) {
            TinyData.write(root, "tiny", 64, 16, 4, 8, 1);
        }
        Path spec = Files.writeString(tmp.resolve("spec.json"), SPEC);
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx48m"));
        if (exitOnOutOfMemory) {
            cmd.add("-XX:+ExitOnOutOfMemoryError");
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), EngineMain.class.getName(), "train",
                "--spec", spec.toString(), "--data-root", root.toString()));
        Path out = tmp.resolve("stdout-" + exitOnOutOfMemory);
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(p.waitFor(100, TimeUnit.SECONDS), "the engine ended");
        return new Exit(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    }

    @Test
    void theJvmsOwnOutOfMemoryExitIsThree(@TempDir Path tmp) throws Exception {
        Exit e = train(tmp, true);
        assertEquals(TrainCommand.EXIT_OUT_OF_MEMORY, e.code(), e.stdout());
        assertEquals(3, TrainCommand.EXIT_OUT_OF_MEMORY, "the code HotSpot exits with on -XX:+ExitOnOutOfMemoryError");
        assertTrue(e.stdout().contains("java.lang.OutOfMemoryError: Java heap space"), e.stdout());
    }

    @Test
    void anOutOfMemoryErrorCaughtByTheEngineExitsThreeSayingSo(@TempDir Path tmp) throws Exception {
        Exit e = train(tmp, false);
        assertEquals(TrainCommand.EXIT_OUT_OF_MEMORY, e.code(), e.stdout());
        assertTrue(e.stdout().contains("\"event\":\"error\"") && e.stdout().contains("Java heap out of memory"), e.stdout());
    }
}
