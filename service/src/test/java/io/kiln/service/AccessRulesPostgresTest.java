package io.kiln.service;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.BeforeAll;

/** {@link AccessRules} on a real PostgreSQL server (KILN_TEST_PG_URL; .ci/setup-postgres.sh starts one). */
class AccessRulesPostgresTest extends AccessRules {
    static final String URL = System.getenv("KILN_TEST_PG_URL");

    @Override
    String dbUrl() {
        return URL;
    }

    @BeforeAll
    @Override
    void start() throws IOException {
        assumeTrue(URL != null && !URL.isBlank(),
                "KILN_TEST_PG_URL is not set, so there is no PostgreSQL server to test against (.ci/setup-postgres.sh starts one)");
        try (Connection c = DriverManager.getConnection(URL); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA public CASCADE");
            s.execute("CREATE SCHEMA public");
        } catch (SQLException e) {
            throw new IOException(e);
        }
        super.start();
    }
}
