package io.kiln.service.executor.slurm;

import io.kiln.service.config.DurationRange;
import io.kiln.service.config.NumberRange;
import io.micronaut.context.annotation.ConfigurationProperties;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.bind.annotation.Bindable;
import jakarta.validation.constraints.Pattern;
import java.time.Duration;
import java.util.List;

/**
 * {@code kiln.slurm.*}: how the SLURM executor submits and follows batch jobs (application.yml and docs/slurm.md
 * describe each). Checked at start-up like every Kiln setting: a value out of bounds stops the service naming it.
 *
 * @param partition the partition jobs go to ({@code --partition}); SLURM's default partition when blank
 * @param account the account they are charged to ({@code --account}); the service user's default when blank
 * @param qos their quality of service ({@code --qos}); the account's default when blank
 * @param cpusPerJob {@code --cpus-per-task} of every job; the engine's CPU backend uses as many threads
 * @param memoryOverhead host memory beyond the worker's heap ({@code --mem} is heap plus this): the JVM's own
 *     memory, and a GPU job's CUDA libraries
 * @param gpuGres {@code --gres} of a job that trains on a GPU
 * @param cpuGres {@code --gres} of a job that trains on the CPU; none when blank (a partition that only takes
 *     jobs holding a GPU wants {@code gpu:1} here)
 * @param niceBase a job's {@code --nice} is this minus its Kiln priority (negative values need a SLURM operator)
 * @param maxSubmitted the most jobs this server keeps in SLURM at once, waiting or running
 * @param pollInterval how often SLURM is asked for the state of this server's batch jobs (one squeue for all)
 * @param readInterval how often the jobs' output files on the shared file system are read
 * @param outputWait after a batch job ended, how long its last output lines may take to show on the shared file
 *     system
 * @param commandTimeout the longest one SLURM command (sbatch, squeue, scancel, ...) may take
 * @param jobNamePrefix batch jobs are named {@code PREFIX-ID} (the Kiln job's id), by which a restarted service
 *     finds one it submitted but could not note
 * @param java the java command on the compute nodes; this service's own when blank
 * @param classPath the engine's class path on the compute nodes; this service's own when blank
 * @param sbatchOptions more sbatch options for every job (a constraint, a reservation, ...)
 * @param unplaceableReasons SLURM's reasons for a pending job that mean no node of the partition can ever give what
 *     it asks for (its memory, CPUs, GRES or time): such a batch job is cancelled and its job fails saying why,
 *     rather than waiting for ever (sbatch takes a held job without checking it can be placed)
 */
@ConfigurationProperties("kiln.slurm")
public record SlurmSettings(
        @Nullable
        @Pattern(regexp = "[A-Za-z0-9_.-]*", message = "kiln.slurm.partition: letters, digits, '_', '.', '-' only, got {validatedValue}")
        String partition,
        @Nullable
        @Pattern(regexp = "[A-Za-z0-9_.-]*", message = "kiln.slurm.account: letters, digits, '_', '.', '-' only, got {validatedValue}")
        String account,
        @Nullable
        @Pattern(regexp = "[A-Za-z0-9_.-]*", message = "kiln.slurm.qos: letters, digits, '_', '.', '-' only, got {validatedValue}")
        String qos,
        @Bindable(defaultValue = "4")
        @NumberRange(setting = "kiln.slurm.cpus-per-job", min = 1, max = 1024)
        int cpusPerJob,
        @Bindable(defaultValue = "1g")
        @Pattern(regexp = "[1-9][0-9]*[kKmMgGtT]?", message = "kiln.slurm.memory-overhead: must be a size such as 512m or "
                + "1g, got {validatedValue}")
        String memoryOverhead,
        @Bindable(defaultValue = "gpu:1")
        @Pattern(regexp = "[A-Za-z0-9_.:,-]+", message = "kiln.slurm.gpu-gres: a GRES such as gpu:1 or gpu:a100:1, got "
                + "{validatedValue}")
        String gpuGres,
        @Nullable
        @Pattern(regexp = "[A-Za-z0-9_.:,-]*", message = "kiln.slurm.cpu-gres: a GRES such as gpu:1, or blank, got "
                + "{validatedValue}")
        String cpuGres,
        @Bindable(defaultValue = "0")
        @NumberRange(setting = "kiln.slurm.nice-base", min = -10_000, max = 1_000_000)
        int niceBase,
        @Bindable(defaultValue = "200")
        @NumberRange(setting = "kiln.slurm.max-submitted", min = 1, max = 100_000)
        int maxSubmitted,
        @Bindable(defaultValue = "5s")
        @DurationRange(setting = "kiln.slurm.poll-interval", min = "200ms", max = "10m")
        Duration pollInterval,
        @Bindable(defaultValue = "1s")
        @DurationRange(setting = "kiln.slurm.read-interval", min = "100ms", max = "1m")
        Duration readInterval,
        @Bindable(defaultValue = "10s")
        @DurationRange(setting = "kiln.slurm.output-wait", min = "0s", max = "10m")
        Duration outputWait,
        @Bindable(defaultValue = "30s")
        @DurationRange(setting = "kiln.slurm.command-timeout", min = "1s", max = "10m")
        Duration commandTimeout,
        @Bindable(defaultValue = "kiln")
        @Pattern(regexp = "[A-Za-z0-9_.]{1,40}", message = "kiln.slurm.job-name-prefix: 1 to 40 letters, digits, '_' "
                + "or '.', got {validatedValue}")
        String jobNamePrefix,
        @Nullable String java,
        @Nullable String classPath,
        @Nullable List<String> sbatchOptions,
        @Nullable List<String> unplaceableReasons) {

    /**
     * SLURM's reasons (man squeue, JOB REASON CODES) that a request exceeds what the partition's nodes or its limits
     * allow: "the job's constraints can not be satisfied", "the job's time limit exceeds its partition's current time
     * limit". Not PartitionNodeLimit, which also means nodes down or drained for a while.
     */
    public static final List<String> UNPLACEABLE_BY_DEFAULT = List.of("BadConstraints", "PartitionTimeLimit");

    public SlurmSettings {
        sbatchOptions = sbatchOptions == null ? List.of() : List.copyOf(sbatchOptions);
        unplaceableReasons = unplaceableReasons == null ? UNPLACEABLE_BY_DEFAULT : List.copyOf(unplaceableReasons);
        for (String o : sbatchOptions) {
            if (!o.startsWith("--")) {
                throw new IllegalArgumentException("kiln.slurm.sbatch-options: each must be a long option such as "
                        + "--constraint=a100, got \"" + o + "\"");
            }
        }
    }

    /** A blank text setting is unset. */
    static String orNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
