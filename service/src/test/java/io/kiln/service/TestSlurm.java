package io.kiln.service;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The single-node SLURM cluster that {@code .ci/setup-slurm.sh} starts (it exports KILN_TEST_SLURM=1), as the tests
 * see it from outside Kiln: its own command-line tools, each call bounded in time.
 */
final class TestSlurm {
    static final String PARTITION = System.getenv().getOrDefault("KILN_TEST_SLURM_PARTITION", "kiln");

    private TestSlurm() {
    }

    /** Why the SLURM tests cannot run here, or null when they can. */
    static String unavailable() {
        if (!"1".equals(System.getenv("KILN_TEST_SLURM"))) {
            return "no SLURM cluster for tests: .ci/setup-slurm.sh installs and starts one and exports KILN_TEST_SLURM=1";
        }
        try {
            String nodes = run("sinfo", "-h", "-N", "-p", PARTITION, "-o", "%N %T %G");
            return nodes.isBlank() ? "SLURM partition " + PARTITION + " has no nodes" : null;
        } catch (IOException | AssertionError e) {
            return "KILN_TEST_SLURM=1 but SLURM does not answer: " + e.getMessage();
        }
    }

    /** squeue's lines {@code ID|STATE|NAME} of the batch jobs with this name, in any state it still shows. */
    static List<String> named(String name) throws IOException {
        return run("squeue", "-h", "-t", "all", "-n", name, "-o", "%i|%T|%j").lines().toList();
    }

    /** A batch job's state as squeue shows it. */
    static String state(String batchJob) throws IOException {
        return run("squeue", "-h", "-t", "all", "-j", batchJob, "-o", "%T").strip();
    }

    /** {@code scontrol -o show job}: one line of KEY=VALUE. */
    static String show(String batchJob) throws IOException {
        return run("scontrol", "-o", "show", "job", batchJob);
    }

    /**
     * {@code scontrol requeue}, as SLURM does itself at a preemption or a node failure; returns once the batch job is
     * pending again (not still completing). SLURM then holds it back for a couple of minutes ({@code BeginTime}).
     */
    static void requeue(String batchJob) throws IOException, InterruptedException {
        run("scontrol", "requeue", batchJob);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String state = "";
        while (System.nanoTime() < end) {
            state = state(batchJob);
            if (state.equals("PENDING")) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("batch job " + batchJob + " not pending again within 30 s of its requeue: " + state);
    }

    static void cancel(String batchJob) throws IOException {
        run("scancel", batchJob);
    }

    /** Cancels every batch job whose name starts with the prefix (what a failed test leaves behind). */
    static void cancelAll(String namePrefix) {
        try {
            List<String> ids = new ArrayList<>();
            for (String line : run("squeue", "-h", "-o", "%i|%j").lines().toList()) {
                String[] f = line.strip().split("\\|", 2);
                if (f.length == 2 && f[1].startsWith(namePrefix)) {
                    ids.add(f[0]);
                }
            }
            if (!ids.isEmpty()) {
                List<String> cmd = new ArrayList<>(List.of("scancel"));
                cmd.addAll(ids);
                run(cmd.toArray(String[]::new));
            }
        } catch (IOException | AssertionError e) {
            System.err.println("cannot cancel the test's batch jobs: " + e);
        }
    }

    static String run(String... cmd) throws IOException {
        Path out = Files.createTempFile("kiln-test-slurm", ".out");
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError(String.join(" ", cmd) + " did not answer within 30 s");
            }
            String text = Files.readString(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd) + " failed: " + text.strip());
            }
            return text;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } finally {
            Files.deleteIfExists(out);
        }
    }
}
