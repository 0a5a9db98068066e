package io.kiln.service;

import java.io.IOException;
import java.sql.SQLException;
import org.junit.jupiter.api.BeforeAll;

/** {@link SweepResults} on a real PostgreSQL server (KILN_TEST_PG_URL; .ci/setup-postgres.sh starts one). */
class SweepResultsPostgresTest extends SweepResults {
    @Override
    String dbUrl() {
        return TestPostgres.URL;
    }

    @BeforeAll
    @Override
    void start() throws IOException {
        try {
            TestPostgres.freshDatabase();
        } catch (SQLException e) {
            throw new IOException(e);
        }
        super.start();
    }
}
