package io.kiln.service.config;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The datasource from the environment: PostgreSQL when KILN_DB_URL names one (several Kiln servers may share
 * it), else an embedded H2 file in KILN_HOME.
 */
public final class DatabaseSettings {
    private DatabaseSettings() {
    }

    public static Map<String, Object> fromEnvironment() {
        return forUrl(System.getenv("KILN_DB_URL"), home());
    }

    /** KILN_HOME as KilnConfig sees it: -Dkiln.home, else the environment, else ~/.kiln. */
    static Path home() {
        String h = System.getProperty("kiln.home");
        if (h == null || h.isBlank()) {
            h = System.getenv("KILN_HOME");
        }
        return h != null && !h.isBlank() ? Path.of(h) : Path.of(System.getProperty("user.home"), ".kiln");
    }

    /**
     * Datasource properties for a JDBC URL (null: the H2 file under {@code home}). The repositories' SQL is
     * ANSI with quoted lower-case names, which PostgreSQL folds to and H2 does with DATABASE_TO_LOWER.
     */
    public static Map<String, Object> forUrl(String url, Path home) {
        Map<String, Object> p = new HashMap<>();
        if (url == null || url.isBlank()) {
            url = "jdbc:h2:file:" + home.toAbsolutePath().resolve("db").resolve("kiln")
                    + ";DB_CLOSE_ON_EXIT=FALSE;LOCK_TIMEOUT=10000;DATABASE_TO_LOWER=TRUE";
        }
        p.put("datasources.default.url", url);
        if (url.startsWith("jdbc:postgresql:")) {
            p.put("datasources.default.dialect", "POSTGRES");
            p.put("datasources.default.driver-class-name", "org.postgresql.Driver");
        } else {
            p.put("datasources.default.dialect", "H2");
            p.put("datasources.default.driver-class-name", "org.h2.Driver");
            p.put("datasources.default.username", "sa");
            p.put("datasources.default.password", "");
        }
        return p;
    }
}
