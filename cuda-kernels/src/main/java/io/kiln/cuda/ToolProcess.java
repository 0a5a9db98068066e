package io.kiln.cuda;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs a helper program (ldconfig when the CUDA backend looks for libraries; nvcc, gcc and readelf in the
 * tests that rebuild the PTX and the shims) and collects its output, stdout and stderr together. The output
 * is read on another thread while this one waits with a timeout: reading it to the end first would wait for
 * as long as the program keeps it open, so a hung program would never time out.
 */
public final class ToolProcess {
    /** The exit status and the whole output. */
    public record Result(int exit, String output) {
    }

    private ToolProcess() {
    }

    /** {@link #run(List, Path, Map, long)} with this process's environment. */
    public static Result run(List<String> command, Path dir, long timeoutSeconds) throws IOException, InterruptedException {
        return run(command, dir, Map.of(), timeoutSeconds);
    }

    /**
     * Runs {@code command} in {@code dir} (null: this process's) with {@code env} added to the environment;
     * past the timeout it is killed, with what it started, and an IOException says so.
     */
    public static Result run(List<String> command, Path dir, Map<String, String> env, long timeoutSeconds)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        if (dir != null) {
            pb.directory(dir.toFile());
        }
        pb.environment().putAll(env);
        Process p = pb.start();
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> {
            try {
                return p.getInputStream().readAllBytes();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                kill(p);
                throw new IOException("timed out after " + timeoutSeconds + " s: " + String.join(" ", command));
            }
            // the output ends with the process, unless a child it left behind still holds it open
            return new Result(p.exitValue(), new String(out.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            kill(p);
            throw e;
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("cannot read the output of " + String.join(" ", command) + ": " + e, e);
        }
    }

    private static void kill(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }
}
