package io.kiln.service.executor;

import java.util.Set;

/**
 * A place where one job can start now: a slot of this server ({@code cpu}, {@code cuda:0}), or, for a batch
 * system, its partition. The scheduler gives it the first queued job whose device request it satisfies.
 *
 * @param name what the job's {@code device} shows, and the log says it started on
 * @param gpu whether the job trains on a GPU there
 * @param requests the spec {@code device} values it satisfies (auto, cpu, cuda, cuda:N)
 * @param batchQueue whether a job handed to it waits in a batch system's queue before it runs (a SLURM
 *     partition): it shows as queued until the batch system starts it
 */
public record Placement(String name, boolean gpu, Set<String> requests, boolean batchQueue) {
    public Placement {
        requests = Set.copyOf(requests);
    }

    /** A slot of this server: a job handed to it starts at once. */
    public Placement(String name, boolean gpu, Set<String> requests) {
        this(name, gpu, requests, false);
    }

    public boolean satisfies(String requestedDevice) {
        return requests.contains(requestedDevice);
    }
}
