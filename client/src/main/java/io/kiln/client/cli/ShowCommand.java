package io.kiln.client.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine.Command;

@Command(name = "show", mixinStandardHelpOptions = true, description = "Prints one job as JSON.")
final class ShowCommand extends JobCommandBase {
    @Override
    public Integer call() throws Exception {
        out().println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(client().job(id)));
        return 0;
    }
}
