package io.kiln.engine.cli;

import java.nio.file.Path;

/** Default locations, from the same environment variables as the service (CONTRACT.md). */
final class EngineDefaults {
    private EngineDefaults() {
    }

    static Path home() {
        String home = System.getenv("KILN_HOME");
        return home != null && !home.isBlank() ? Path.of(home) : Path.of(System.getProperty("user.home"), ".kiln");
    }

    static Path dataRoot() {
        String root = System.getenv("KILN_DATA_ROOT");
        return root != null && !root.isBlank() ? Path.of(root) : home().resolve("data");
    }
}
