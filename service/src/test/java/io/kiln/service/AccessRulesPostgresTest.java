package io.kiln.service;

import org.junit.jupiter.api.extension.ExtendWith;

/** {@link AccessRules} on a real PostgreSQL server (KILN_TEST_PG_URL; .ci/setup-postgres.sh starts one). */
@ExtendWith(TestPostgres.FreshForClass.class)
class AccessRulesPostgresTest extends AccessRules {
    @Override
    String dbUrl() {
        return TestPostgres.URL;
    }
}
