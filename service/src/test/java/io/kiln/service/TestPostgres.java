package io.kiln.service;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/** The PostgreSQL server the tests may use: KILN_TEST_PG_URL (.ci/setup-postgres.sh starts one and sets it). */
final class TestPostgres {
    static final String URL = System.getenv("KILN_TEST_PG_URL");

    private TestPostgres() {
    }

    /** Skips the calling test, saying why, without a server; else empties its database and returns its URL. */
    static String freshDatabase() throws SQLException {
        assumeTrue(URL != null && !URL.isBlank(),
                "KILN_TEST_PG_URL is not set, so there is no PostgreSQL server to test against (.ci/setup-postgres.sh starts one)");
        try (Connection c = DriverManager.getConnection(URL); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA public CASCADE");
            s.execute("CREATE SCHEMA public");
        }
        return URL;
    }
}
