package io.kiln.service.executor.slurm;

import io.micronaut.core.annotation.Nullable;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Every call Kiln makes to SLURM, in one place: {@link SlurmCommandLine} makes them with SLURM's command-line
 * tools (on every SLURM host); a client of {@code slurmrestd} could make the same calls.
 */
public interface Slurm {
    /** A batch job as the controller shows it now. */
    record BatchJob(String id, String name, String state, String reason, String nodes, @Nullable Instant started) {
    }

    /**
     * How a batch job ended.
     *
     * @param exitCode the batch script's exit status
     * @param signal the signal that ended it, 0 for none
     */
    record BatchEnd(String state, String reason, int exitCode, int signal) {
    }

    /** A node of the partition: its CPUs, memory (MiB) and GRES, each total and in use. */
    record Node(String name, String state, int cpusAllocated, int cpus, long memoryMiB, long memoryAllocatedMiB,
                String gres, String gresUsed) {
    }

    /** Submits a batch script with these sbatch options; returns the batch job's id. */
    String submit(List<String> options, Path script) throws IOException;

    /** Lets a job submitted held ({@code --hold}) be scheduled. */
    void release(String id) throws IOException;

    void cancel(String id) throws IOException;

    /** The jobs among {@code ids} that the controller still knows (ended ones for a while: its MinJobAge). */
    Map<String, BatchJob> jobs(Collection<String> ids) throws IOException;

    /** This user's jobs with this exact name, in any state the controller still shows. */
    List<BatchJob> named(String name) throws IOException;

    /** How an ended job ended, from the controller or else the accounting database; empty if neither knows. */
    Optional<BatchEnd> end(String id) throws IOException;

    /** The nodes of a partition (SLURM's default partition when null). */
    List<Node> nodes(@Nullable String partition) throws IOException;

    /** The name of SLURM's default partition. */
    String defaultPartition() throws IOException;
}
