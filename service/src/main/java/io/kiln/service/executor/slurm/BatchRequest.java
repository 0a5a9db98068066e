package io.kiln.service.executor.slurm;

import io.kiln.service.executor.Launch;
import io.kiln.service.executor.WorkerJvm;
import io.micronaut.core.annotation.Nullable;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * One run as a SLURM batch job: what it asks for (partition, account, QOS, nice, CPUs, memory, GRES, time) and the
 * batch script, which runs the engine's {@code train} in the job's folder on the shared KILN_HOME with its events
 * on standard output ({@code slurm-JOBID.out}) and its log on standard error ({@code slurm-JOBID.err}).
 *
 * @param name the batch job's name, {@code PREFIX-ID}
 * @param gpu whether the run trains on a GPU (one that SLURM allocates: the engine sees it as cuda:0)
 * @param heapMiB the worker JVM's -Xmx
 * @param memoryMiB {@code --mem}: the heap and kiln.slurm.memory-overhead
 * @param gres {@code --gres}, if any
 * @param timeMinutes {@code --time}, from kiln.max-job-duration rounded up to SLURM's minutes; 0 for none
 * @param nice {@code --nice}: kiln.slurm.nice-base minus the job's priority
 */
record BatchRequest(String name, boolean gpu, int cpus, long heapMiB, long memoryMiB, @Nullable String gres,
                    long timeMinutes, int nice) {

    static final String SCRIPT_FILE = "slurm-job.sh";

    /**
     * The request for a run: the heap is kiln.worker-heap, and for a CPU job also the training memory the estimate
     * gives (on the CPU the engine's tensors live in the heap; on a GPU, in device memory).
     */
    static BatchRequest of(Launch launch, SlurmSettings settings, String workerHeap, @Nullable Duration maxJobDuration,
                           boolean gpu, long trainingBytes) {
        long heap = mebibytes(workerHeap) + (gpu ? 0 : ceilMiB(trainingBytes));
        long minutes = maxJobDuration == null ? 0 : Math.max(1, (maxJobDuration.toSeconds() + 59) / 60);
        String gres = gpu ? settings.gpuGres() : SlurmSettings.orNull(settings.cpuGres());
        return new BatchRequest(jobName(settings, launch.job().id()), gpu, settings.cpusPerJob(), heap,
                heap + mebibytes(settings.memoryOverhead()), gres, minutes, settings.niceBase() - launch.job().priority());
    }

    static String jobName(SlurmSettings settings, long jobId) {
        return settings.jobNamePrefix() + "-" + jobId;
    }

    /** sbatch's options (the job held: it may start once its id is stored). */
    List<String> options(SlurmSettings settings, Path jobDir) {
        List<String> o = new ArrayList<>(List.of("--hold", "--job-name=" + name, "--chdir=" + jobDir,
                "--output=" + jobDir.resolve("slurm-%j.out"), "--error=" + jobDir.resolve("slurm-%j.err"),
                // A job SLURM requeues (preemption, a failed node) runs again with the same files: keep what the
                // earlier run wrote, which the service may not have read yet.
                "--open-mode=append", "--requeue",
                // Not the service's environment (it may hold the database password and the admin token).
                "--export=NONE",
                "--nodes=1", "--ntasks=1", "--cpus-per-task=" + cpus, "--mem=" + memoryMiB + "M"));
        add(o, "--partition=", SlurmSettings.orNull(settings.partition()));
        add(o, "--account=", SlurmSettings.orNull(settings.account()));
        add(o, "--qos=", SlurmSettings.orNull(settings.qos()));
        add(o, "--gres=", gres);
        if (timeMinutes > 0) {
            o.add("--time=" + timeMinutes);
        }
        if (nice != 0) {
            o.add("--nice=" + nice);
        }
        o.addAll(settings.sbatchOptions());
        return o;
    }

    /** The batch script: the engine's train for this run, started with exec so that its exit is the job's. */
    String script(Launch launch, String java, String classPath, String engineMain) {
        // task/none and the like let the JVM see every CPU of the node: it uses those it was given.
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx" + heapMiB + "m", "-XX:ActiveProcessorCount=" + cpus));
        cmd.addAll(WorkerJvm.OPTIONS);
        cmd.addAll(List.of("-cp", classPath, engineMain));
        List<String> train = new ArrayList<>(launch.trainArguments(gpu ? "cuda:0" : "cpu"));
        boolean resume = train.remove("--resume");
        cmd.addAll(train);
        return String.format(Locale.ROOT, """
                #!/bin/sh
                # Kiln job %d, attempt %d: written by the Kiln service, run by SLURM on the node it allocates.
                # The engine's events go to standard output, its log to standard error (slurm-JOBID.out, .err).
                resume=%s
                # Requeued by SLURM (preempted, a node failed): go on after the checkpoint the earlier run wrote.
                if [ "${SLURM_RESTART_COUNT:-0}" -gt 0 ]; then resume=--resume; fi
                exec %s $resume
                """, launch.job().id(), launch.job().attempts(), resume ? "--resume" : "\"\"",
                cmd.stream().map(BatchRequest::quote).collect(Collectors.joining(" ")));
    }

    /** For the job's log: what was asked for. */
    String describe() {
        return (gpu ? "GPU" : "CPU") + " job, " + cpus + " CPU" + (cpus == 1 ? "" : "s") + ", --mem=" + memoryMiB + "M"
                + (gres == null ? "" : ", --gres=" + gres) + (timeMinutes > 0 ? ", --time=" + timeMinutes : "")
                + (nice != 0 ? ", --nice=" + nice : "");
    }

    private static void add(List<String> o, String option, @Nullable String value) {
        if (value != null) {
            o.add(option + value);
        }
    }

    static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }

    /** A size as Java's -Xmx reads it (512m, 2g, 1048576) in MiB, rounded up. */
    static long mebibytes(String size) {
        String s = size.strip().toLowerCase(Locale.ROOT);
        char unit = s.charAt(s.length() - 1);
        long n = Character.isDigit(unit) ? Long.parseLong(s) : Long.parseLong(s.substring(0, s.length() - 1));
        long bytes = switch (unit) {
            case 'k' -> n << 10;
            case 'm' -> n << 20;
            case 'g' -> n << 30;
            case 't' -> n << 40;
            default -> n;
        };
        return ceilMiB(bytes);
    }

    private static long ceilMiB(long bytes) {
        return (bytes + (1L << 20) - 1) >> 20;
    }
}
