package io.kiln.service.executor.slurm;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A SLURM controller in memory, for the executor's unit tests: the tests set each batch job's state; every call is
 * recorded. {@link SlurmExecutorTest} in the service's tests runs against a real one.
 */
final class FakeSlurm implements Slurm {
    final List<String> calls = Collections.synchronizedList(new ArrayList<>());
    final Map<String, BatchJob> jobs = Collections.synchronizedMap(new LinkedHashMap<>());
    final Map<String, BatchEnd> ends = Collections.synchronizedMap(new LinkedHashMap<>());
    final List<List<String>> submitted = Collections.synchronizedList(new ArrayList<>());
    volatile boolean down;
    private int next = 100;

    /** Sets a batch job's state as squeue and scontrol will show it. */
    void set(String id, String name, String state, String reason) {
        jobs.put(id, new BatchJob(id, name, state, reason, state.equals("PENDING") ? "" : "node1",
                state.equals("PENDING") ? null : Instant.parse("2026-01-01T00:00:00Z")));
        ends.put(id, new BatchEnd(state, reason, state.equals("FAILED") ? 3 : 0, state.equals("TIMEOUT") ? 15 : 0));
    }

    /** The controller forgets the job (it ended longer ago than MinJobAge). */
    void forget(String id) {
        jobs.remove(id);
        ends.remove(id);
    }

    private void reachable() throws IOException {
        if (down) {
            throw new IOException("squeue: error: Unable to contact slurm controller (connect failure)");
        }
    }

    @Override
    public synchronized String submit(List<String> options, Path script) throws IOException {
        reachable();
        String id = Integer.toString(next++);
        calls.add("submit " + id);
        submitted.add(options);
        String name = options.stream().filter(o -> o.startsWith("--job-name=")).findFirst().orElseThrow().substring(11);
        set(id, name, "PENDING", "JobHeldUser");
        return id;
    }

    @Override
    public void release(String id) throws IOException {
        reachable();
        calls.add("release " + id);
        BatchJob j = jobs.get(id);
        set(id, j.name(), "PENDING", "None");
    }

    @Override
    public void cancel(String id) throws IOException {
        reachable();
        calls.add("cancel " + id);
        BatchJob j = jobs.get(id);
        if (j != null) {
            set(id, j.name(), "CANCELLED", "None");
        }
    }

    @Override
    public Map<String, BatchJob> jobs(Collection<String> ids) throws IOException {
        reachable();
        Map<String, BatchJob> out = new LinkedHashMap<>();
        for (String id : ids) {
            BatchJob j = jobs.get(id);
            if (j != null) {
                out.put(id, j);
            }
        }
        return out;
    }

    @Override
    public List<BatchJob> named(String name) throws IOException {
        reachable();
        calls.add("named " + name);
        return jobs.values().stream().filter(j -> j.name().equals(name)).toList();
    }

    @Override
    public Optional<BatchEnd> end(String id) throws IOException {
        reachable();
        return Optional.ofNullable(ends.get(id));
    }

    @Override
    public List<Node> nodes(String partition) throws IOException {
        reachable();
        return List.of(new Node("node1", "mixed", 1, 8, 64_000, 1_000, "gpu:2", "gpu:1(IDX:0)"));
    }

    @Override
    public String defaultPartition() {
        return "batch";
    }
}
