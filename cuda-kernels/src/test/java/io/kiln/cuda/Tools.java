package io.kiln.cuda;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

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

    /** How long a tool may run: nvcc and ptxas take seconds; a hung one must not hold the build. */
    static final long TIMEOUT_SECONDS = 300;

    /** Runs a command (in dir, with env added to the environment) through {@link ToolProcess}, which keeps the timeout. */
    static ToolProcess.Result run(List<String> command, Path dir, Map<String, String> env) throws IOException {
        try {
            return ToolProcess.run(command, dir, env, TIMEOUT_SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }
}
