package io.kiln.cuda;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Helpers of the up-to-date tests: the module folder, hashes as the build scripts compute them, tools. */
final class Tools {
    private Tools() {
    }

    /** The cuda-kernels module folder (surefire runs the tests there and sets basedir). */
    static Path moduleDir() {
        return Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * What {@code sha256sum FILES | sha256sum} prints: the hash of the listing {@code "<hash>  <name>\n"} per
     * file, names as given (relative to {@code dir}).
     */
    static String listingHash(Path dir, List<String> names) throws IOException {
        StringBuilder listing = new StringBuilder();
        for (String name : names) {
            listing.append(sha256(Files.readAllBytes(dir.resolve(name)))).append("  ").append(name).append('\n');
        }
        return sha256(listing.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** Whether a command can be run (found on the PATH). */
    static boolean has(String tool) {
        try {
            return run(List.of(tool, "--version"), null, Map.of()).exit() == 0;
        } catch (IOException e) {
            return false;
        }
    }

    record Result(int exit, String output) {
    }

    /** How long a tool may run: nvcc and ptxas take seconds; a hung one must not hold the build. */
    static final long TIMEOUT_SECONDS = 300;

    /**
     * Runs a command with its output (stdout and stderr together) read on another thread, so that the
     * timeout holds even when the process keeps its output open: on timeout the process is killed and an
     * IOException says so.
     */
    static Result run(List<String> command, Path dir, Map<String, String> env) throws IOException {
        return run(command, dir, env, TIMEOUT_SECONDS);
    }

    static Result run(List<String> command, Path dir, Map<String, String> env, long timeoutSeconds) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true);
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
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new IOException("timed out after " + timeoutSeconds + " s: " + command);
            }
            // the process has ended; its output ends with it unless a child it left behind still holds the pipe
            return new Result(p.exitValue(), new String(out.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("cannot read the output of " + command + ": " + e, e);
        }
    }
}
