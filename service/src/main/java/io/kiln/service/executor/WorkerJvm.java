package io.kiln.service.executor;

import java.io.File;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/** The JVM a worker runs the engine in, by default: this service's own java and class path. */
public final class WorkerJvm {
    /** The engine's entry point. */
    public static final String ENGINE_MAIN = "io.kiln.engine.cli.EngineMain";

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
