package io.kiln.client.cli;

import picocli.CommandLine.Option;

/**
 * What a listing command ({@code jobs}, {@code sweeps}) takes in common: whose entries, and which page of them,
 * the server's list parameters {@code user}, {@code page} and {@code size}. The help names the command's own things.
 */
final class Listing {
    @Option(names = "--user", description = "only this user's ${COMMAND-NAME}")
    String user;

    @Option(names = "--page", defaultValue = "0")
    int page;

    @Option(names = "--size", defaultValue = "50", description = "${COMMAND-NAME} per page (default ${DEFAULT-VALUE})")
    int size;
}
