package io.kiln.service.config;

import io.kiln.engine.train.Trainer;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.nio.file.Path;

/**
 * Where Kiln keeps things, in one place: the home (state), the data root, the job folders and the files in
 * them, and the embedded database. Every path is absolute: workers run in their job's folder and are given paths
 * under it, and a relative KILN_HOME means the service's working directory at start-up.
 */
@Singleton
public final class KilnPaths {
    static final String SPEC_FILE = "spec.json";
    private final Path home;
    private final Path dataRoot;

    @Inject
    public KilnPaths(KilnConfig config) {
        this(resolveHome(config.home()), config.dataRoot());
    }

    public KilnPaths(Path home, @Nullable String dataRoot) {
        this.home = home.toAbsolutePath().normalize();
        this.dataRoot = KilnConfig.blank(dataRoot) ? this.home.resolve("data")
                : Path.of(dataRoot).toAbsolutePath().normalize();
    }

    /** KILN_HOME as configured (blank: ~/.kiln), made absolute. */
    public static Path resolveHome(@Nullable String configured) {
        Path h = KilnConfig.blank(configured) ? Path.of(System.getProperty("user.home"), ".kiln") : Path.of(configured);
        return h.toAbsolutePath().normalize();
    }

    /**
     * The home before the application context exists (the datasource is chosen first): {@code -Dkiln.home}, else
     * KILN_HOME, else ~/.kiln, the same precedence the context gives the {@code kiln.home} setting.
     */
    public static Path homeFromEnvironment() {
        String h = System.getProperty("kiln.home");
        return resolveHome(KilnConfig.blank(h) ? System.getenv("KILN_HOME") : h);
    }

    /**
     * The embedded H2 database in the home. Its SQL dialect is the repositories' ANSI with quoted lower-case
     * names, which H2 matches with DATABASE_TO_LOWER; a lock waits up to 10 s, longer than any Kiln transaction.
     * WRITE_DELAY=0 writes each commit to the file before the commit returns: with H2's default delay a commit
     * returns at once and is written later, so a job acknowledged with 201 could be lost when that write fails.
     */
    public static String h2Url(Path home) {
        return "jdbc:h2:file:" + home.toAbsolutePath().normalize().resolve("db").resolve("kiln")
                + ";DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=10000;DATABASE_TO_LOWER=TRUE;WRITE_DELAY=0";
    }

    public Path home() {
        return home;
    }

    public Path dataRoot() {
        return dataRoot;
    }

    public Path dataset(String name) {
        return dataRoot.resolve(name);
    }

    public Path jobsDir() {
        return home.resolve("jobs");
    }

    /** One job's folder: its spec, checkpoint, events file, report cache and the executor's own files. */
    public Path jobDir(long id) {
        return jobsDir().resolve(Long.toString(id));
    }

    /** The spec the job's worker trains, as submitted. */
    public Path spec(long id) {
        return jobDir(id).resolve(SPEC_FILE);
    }

    /** The job's latest checkpoint (the engine writes it after each epoch). */
    public Path checkpoint(long id) {
        return jobDir(id).resolve(Trainer.CHECKPOINT_FILE);
    }

    /** Every event of every run of the job, as the engine appends them. */
    public Path events(long id) {
        return jobDir(id).resolve(Trainer.EVENTS_FILE);
    }

    /** The uploaded pretrained models' weights files. */
    public Path modelsDir() {
        return home.resolve("models");
    }

    /** One uploaded model's weights, by its id (names may be reused once a model is gone; ids are not). */
    public Path model(long id) {
        return modelsDir().resolve(id + ".weights");
    }
}
