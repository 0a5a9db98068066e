package io.kiln.service;

/** {@link SweepResults} on the embedded H2 database. */
class SweepResultsH2Test extends SweepResults {
    @Override
    String dbUrl() {
        return null;
    }
}
