package io.kiln.service.executor.slurm;

import io.micronaut.context.annotation.Requires;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;

/**
 * {@link Slurm} through SLURM's command-line tools: sbatch, scontrol, scancel, squeue, sinfo and sacct. Each call is
 * bounded by kiln.slurm.command-timeout; output is asked for in fixed formats with {@code |} between fields, and
 * times in SLURM's standard format (SLURM_TIME_FORMAT), whatever the service's environment says.
 */
@Singleton
@Requires(property = "kiln.executor", value = "slurm")
public class SlurmCommandLine implements Slurm {
    /** squeue's answer for ids it does not know (any more). */
    static final String UNKNOWN_JOB = "Invalid job id specified";
    /** The most job ids one squeue call is given. */
    private static final int IDS_PER_CALL = 500;
    private static final String JOB_FORMAT = "%i|%T|%N|%S|%j|%r";
    private static final String NODE_FORMAT = "NodeList:|,StateLong:|,CPUsState:|,Memory:|,AllocMem:|,Gres:|,GresUsed:|";

    private final Duration timeout;
    private final String user;

    @Inject
    public SlurmCommandLine(SlurmSettings settings) {
        this(settings.commandTimeout(), System.getProperty("user.name"));
    }

    SlurmCommandLine(Duration timeout, String user) {
        this.timeout = timeout;
        this.user = user;
    }

    /** What one command did. */
    record Result(int exit, String out, String err) {
    }

    @Override
    public String submit(List<String> options, Path script) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("sbatch", "--parsable"));
        cmd.addAll(options);
        cmd.add(script.toString());
        String out = check(cmd, run(cmd)).out().trim();
        // --parsable prints "id" or "id;cluster".
        String id = out.lines().reduce((a, b) -> b).orElse("").split(";")[0].trim();
        if (!id.matches("[0-9]+")) {
            throw new IOException("sbatch printed no job id: " + out);
        }
        return id;
    }

    @Override
    public void release(String id) throws IOException {
        List<String> cmd = List.of("scontrol", "release", id);
        check(cmd, run(cmd));
    }

    @Override
    public void cancel(String id) throws IOException {
        List<String> cmd = List.of("scancel", id);
        check(cmd, run(cmd));
    }

    @Override
    public Map<String, BatchJob> jobs(Collection<String> ids) throws IOException {
        Map<String, BatchJob> out = new LinkedHashMap<>();
        List<String> all = List.copyOf(ids);
        for (int i = 0; i < all.size(); i += IDS_PER_CALL) {
            List<String> cmd = List.of("squeue", "-h", "-t", "all", "-j",
                    String.join(",", all.subList(i, Math.min(all.size(), i + IDS_PER_CALL))), "-o", JOB_FORMAT);
            Result r = run(cmd);
            if (r.exit() != 0 && r.err().contains(UNKNOWN_JOB)) {
                continue; // none of them is known any more
            }
            parseJobs(check(cmd, r).out()).forEach(j -> out.put(j.id(), j));
        }
        return out;
    }

    @Override
    public List<BatchJob> named(String name) throws IOException {
        List<String> cmd = List.of("squeue", "-h", "-t", "all", "-u", user, "-n", name, "-o", JOB_FORMAT);
        return parseJobs(check(cmd, run(cmd)).out()).stream().filter(j -> j.name().equals(name)).toList();
    }

    @Override
    public Optional<BatchEnd> end(String id) throws IOException {
        List<String> cmd = List.of("scontrol", "-o", "show", "job", id);
        Result r = run(cmd);
        if (r.exit() == 0) {
            return parseScontrolJob(r.out());
        }
        if (!r.err().contains(UNKNOWN_JOB)) {
            check(cmd, r);
        }
        // Gone from the controller (ended longer ago than its MinJobAge): the accounting database, if there is one.
        List<String> sacct = List.of("sacct", "-n", "-P", "-X", "-j", id, "-o", "State,ExitCode");
        Result a = run(sacct);
        return a.exit() == 0 ? parseSacct(a.out()) : Optional.empty();
    }

    @Override
    public List<Node> nodes(@Nullable String partition) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("sinfo", "-h", "-N"));
        if (partition != null) {
            cmd.addAll(List.of("-p", partition));
        }
        cmd.addAll(List.of("-O", NODE_FORMAT));
        return parseNodes(check(cmd, run(cmd)).out());
    }

    @Override
    public String defaultPartition() throws IOException {
        List<String> cmd = List.of("sinfo", "-h", "-o", "%P");
        String out = check(cmd, run(cmd)).out();
        return out.lines().map(String::trim).filter(l -> l.endsWith("*")).findFirst()
                .map(l -> l.substring(0, l.length() - 1))
                .orElseThrow(() -> new IOException("SLURM has no default partition; set kiln.slurm.partition"));
    }

    // ---- parsing (package-private for the tests) ----

    static List<BatchJob> parseJobs(String out) {
        List<BatchJob> jobs = new ArrayList<>();
        for (String line : out.split("\n")) {
            String[] f = line.strip().split("\\|", 6);
            if (f.length < 6 || !f[0].matches("[0-9]+")) {
                continue;
            }
            jobs.add(new BatchJob(f[0], f[4], f[1], f[5], f[2], time(f[3])));
        }
        return jobs;
    }

    /** SLURM's standard time (local, without a zone) or N/A / Unknown / None. */
    static Instant time(String text) {
        try {
            return LocalDateTime.parse(text.strip()).atZone(ZoneId.systemDefault()).toInstant();
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    static Optional<BatchEnd> parseScontrolJob(String out) {
        String state = field(out, "JobState");
        if (state == null) {
            return Optional.empty();
        }
        String reason = field(out, "Reason");
        int[] exit = exitCode(field(out, "ExitCode"));
        return Optional.of(new BatchEnd(state, reason == null ? "None" : reason, exit[0], exit[1]));
    }

    static Optional<BatchEnd> parseSacct(String out) {
        for (String line : out.split("\n")) {
            String[] f = line.strip().split("\\|");
            if (f.length >= 2 && !f[0].isBlank()) {
                // "CANCELLED by 0": the state, and who.
                String[] state = f[0].split(" ", 2);
                int[] exit = exitCode(f[1]);
                return Optional.of(new BatchEnd(state[0], state.length > 1 ? state[1] : "None", exit[0], exit[1]));
            }
        }
        return Optional.empty();
    }

    static List<Node> parseNodes(String out) {
        List<Node> nodes = new ArrayList<>();
        for (String line : out.split("\n")) {
            String[] f = line.strip().split("\\|", -1);
            if (f.length < 7 || f[0].isBlank()) {
                continue;
            }
            // CPUsState is allocated/idle/other/total.
            String[] cpus = f[2].split("/");
            nodes.add(new Node(f[0], f[1], integer(cpus[0]), cpus.length > 3 ? integer(cpus[3]) : 0, longer(f[3]),
                    longer(f[4]), f[5], f[6]));
        }
        return nodes;
    }

    /** scontrol's {@code KEY=VALUE} (values without spaces, as the fields read here are). */
    private static String field(String out, String key) {
        Matcher m = java.util.regex.Pattern.compile("(?:^|\\s)" + key + "=(\\S*)").matcher(out);
        return m.find() ? m.group(1) : null;
    }

    /** {@code CODE:SIGNAL}. */
    private static int[] exitCode(String text) {
        if (text == null) {
            return new int[] {0, 0};
        }
        String[] p = text.strip().split(":");
        return new int[] {integer(p[0]), p.length > 1 ? integer(p[1]) : 0};
    }

    private static int integer(String s) {
        try {
            return Integer.parseInt(s.strip());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static long longer(String s) {
        try {
            return Long.parseLong(s.strip());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    // ---- running the tools ----

    private static Result check(List<String> cmd, Result r) throws IOException {
        if (r.exit() != 0) {
            throw new IOException(String.join(" ", cmd.subList(0, Math.min(cmd.size(), 3))) + " failed (exit " + r.exit()
                    + "): " + (r.err().isBlank() ? r.out() : r.err()).strip());
        }
        return r;
    }

    Result run(List<String> cmd) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(cmd);
        // Formats and times as asked here, whatever the service's environment asks for.
        pb.environment().keySet().removeIf(k -> k.startsWith("SQUEUE_") || k.startsWith("SINFO_"));
        pb.environment().put("SLURM_TIME_FORMAT", "standard");
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new IOException("cannot run " + cmd.get(0) + " (is SLURM's client installed and on the PATH?): "
                    + e.getMessage(), e);
        }
        p.getOutputStream().close();
        CompletableFuture<String> out = read(p.getInputStream());
        CompletableFuture<String> err = read(p.getErrorStream());
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException(cmd.get(0) + " did not answer within " + timeout + " (kiln.slurm.command-timeout)");
            }
            return new Result(p.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException(cmd.get(0) + " interrupted", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IOException("cannot read what " + cmd.get(0) + " printed: " + e, e);
        }
    }

    private static CompletableFuture<String> read(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try (in) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, r -> Thread.ofVirtual().start(r));
    }
}
