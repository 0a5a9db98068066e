package io.kiln.client.cli;

import picocli.CommandLine.Parameters;

/** What a command about one job shares: the job's id, its first parameter. */
abstract class JobCommandBase extends ClientCommand {
    @Parameters(index = "0", paramLabel = "ID")
    String id;
}
