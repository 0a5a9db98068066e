package io.kiln.client.cli;

import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "download", mixinStandardHelpOptions = true, description = "Saves a job's checkpoint (trained weights).")
final class DownloadCommand extends ClientCommand {
    @Parameters(paramLabel = "ID")
    String id;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE")
    Path file;

    @Override
    public Integer call() {
        long bytes = client().downloadCheckpoint(id, file);
        out().println("saved job " + id + "'s checkpoint to " + file + " (" + bytes + " bytes)");
        return 0;
    }
}
