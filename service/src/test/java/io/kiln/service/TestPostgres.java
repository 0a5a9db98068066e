package io.kiln.service;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** The PostgreSQL server the tests may use: KILN_TEST_PG_URL (.ci/setup-postgres.sh starts one and sets it). */
final class TestPostgres {
    static final String URL = System.getenv("KILN_TEST_PG_URL");
    private static final String NONE = "KILN_TEST_PG_URL is not set, so there is no PostgreSQL server to test against "
            + "(.ci/setup-postgres.sh starts one)";

    private TestPostgres() {
    }

    /** Skips the calling test, saying why, without a server; else empties its database and returns its URL. */
    static String freshDatabase() throws SQLException {
        assumeTrue(present(), NONE);
        try (Connection c = DriverManager.getConnection(URL); Statement s = c.createStatement()) {
            s.execute("DROP SCHEMA public CASCADE");
            s.execute("CREATE SCHEMA public");
        }
        return URL;
    }

    private static boolean present() {
        return URL != null && !URL.isBlank();
    }

    /** Disables a test, saying why, without a server: Surefire lists it skipped with the reason. */
    private abstract static class OnServer implements ExecutionCondition {
        @Override
        public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
            return present() ? ConditionEvaluationResult.enabled("KILN_TEST_PG_URL is set")
                    : ConditionEvaluationResult.disabled(NONE);
        }
    }

    /**
     * Runs a test class against this server, {@code @ExtendWith(TestPostgres.FreshForClass.class)}: its database is
     * emptied once before the class's first test, or the class is skipped, saying why, without a server. An
     * extension runs before the class's own {@code @BeforeAll} methods, which may start Kiln servers on it.
     */
    static final class FreshForClass extends OnServer implements BeforeAllCallback {
        @Override
        public void beforeAll(ExtensionContext context) throws SQLException {
            freshDatabase();
        }
    }

    /** The same for tests that each start their own servers: the database is emptied before each test. */
    static final class FreshForEach extends OnServer implements BeforeEachCallback {
        @Override
        public void beforeEach(ExtensionContext context) throws SQLException {
            freshDatabase();
        }
    }
}
