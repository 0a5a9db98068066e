package io.kiln.client.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "show", mixinStandardHelpOptions = true, description = "Prints one job as JSON.")
final class ShowCommand extends ClientCommand {
    @Parameters(paramLabel = "ID")
    String id;

    @Override
    public Integer call() throws Exception {
        out().println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(client().job(id)));
        return 0;
    }
}
