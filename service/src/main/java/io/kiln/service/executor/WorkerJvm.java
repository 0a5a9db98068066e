package io.kiln.service.executor;

import java.io.File;
import java.lang.module.ModuleFinder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/** The JVM a worker runs the engine in, by default: this service's own java and class path. */
public final class WorkerJvm {
    /** The engine's entry point. */
    public static final String ENGINE_MAIN = "io.kiln.engine.cli.EngineMain";

    /** The JDK module of the CPU backend's direct convolutions. */
    static final String VECTOR_MODULE = "jdk.incubator.vector";

    /**
     * Options every worker JVM gets besides its heap: exit (code 3) rather than limp on after running out of heap,
     * JCuda's native libraries without warnings, the serial collector with a young generation of 64 MB, and the
     * Vector API for the CPU
     * backend's direct convolutions when this runtime has it (a jlinked one may not, and a JVM asked for a module
     * it lacks does not start; without it the convolutions run as matrix products, slower: docs/cpu-backend.md).
     * A training step allocates nothing once compiled, but until C2 has compiled the Vector API loops their
     * interpreted code allocates every vector, and G1 grew the heap for that: VGG11 peaked at 835 MiB resident
     * with the default young generation, 722 MiB with 64 MB (ResNet20 683 and 494), at the same speed. A worker
     * is a batch process whose tensors live from the first step to the last, so the serial collector fits it
     * better than G1, whose regions and concurrent threads kept its committed heap at 1.5 to 2x the live
     * tensors: with oneDNN's buffers VGG11 peaked at 792 MiB under G1 and 686 MiB under the serial collector,
     * at the same speed (docs/benchmarks.md).
     */
    public static final List<String> OPTIONS = options(ModuleFinder.ofSystem().find(VECTOR_MODULE).isPresent());

    /**
     * Whether a worker's stderr line is the JVM's notice that it runs an incubator module ("WARNING: Using
     * incubator modules: jdk.incubator.vector"), printed at every start and left out of the job's log.
     */
    public static boolean isModuleNotice(String line) {
        return line.startsWith("WARNING: Using incubator modules: ");
    }

    static List<String> options(boolean vector) {
        List<String> o = new ArrayList<>(List.of("-XX:+ExitOnOutOfMemoryError", "--enable-native-access=ALL-UNNAMED",
                "-XX:+UseSerialGC", "-Xmn64m"));
        if (vector) {
            o.add("--add-modules=" + VECTOR_MODULE);
        }
        return List.copyOf(o);
    }

    private WorkerJvm() {
    }

    /** The java command this service runs on. */
    public static String java() {
        return ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /** This JVM's class path with absolute entries: a worker runs in its job's folder. */
    public static String classPath() {
        return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .map(e -> Path.of(e).toAbsolutePath().toString())
                .collect(Collectors.joining(File.pathSeparator));
    }
}
