package io.kiln.service.config;

import io.kiln.service.store.DeadConnections;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The datasource from the environment: PostgreSQL when KILN_DB_URL names one (several Kiln servers may share
 * it), else the embedded H2 file in KILN_HOME ({@link KilnPaths#h2Url}). Chosen before the application context
 * starts, since the datasource is configured by it.
 */
public final class DatabaseSettings {
    private DatabaseSettings() {
    }

    public static Map<String, Object> fromEnvironment() {
        return forUrl(System.getenv("KILN_DB_URL"), KilnPaths.homeFromEnvironment());
    }

    /** Datasource properties for a JDBC URL (null or blank: the H2 file under {@code home}). */
    public static Map<String, Object> forUrl(String url, Path home) {
        Map<String, Object> p = new HashMap<>();
        if (url == null || url.isBlank()) {
            url = KilnPaths.h2Url(home);
        }
        p.put("datasources.default.url", url);
        p.put("datasources.default.exception-override-class-name", DeadConnections.class.getName());
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
