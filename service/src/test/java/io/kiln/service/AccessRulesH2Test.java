package io.kiln.service;

/** {@link AccessRules} on the embedded H2 database. */
class AccessRulesH2Test extends AccessRules {
    @Override
    String dbUrl() {
        return null;
    }
}
