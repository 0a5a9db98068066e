package io.kiln.engine.backend.cuda;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs a helper program (ldconfig; compilers in tests) and collects its output, stdout and stderr together.
 * The output is read on another thread while this one waits with a timeout: reading it to the end first
 * would wait for as long as the program keeps it open, so a hung program would never time out.
 */
final class ToolProcess {
    /** The exit status and the whole output. */
    record Result(int exit, String output) {
    }

    private ToolProcess() {
    }

    /** Runs {@code command} in {@code dir} (null: this process's); past the timeout it is killed and an IOException says so. */
    static Result run(List<String> command, Path dir, long timeoutSeconds) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        if (dir != null) {
            pb.directory(dir.toFile());
        }
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
