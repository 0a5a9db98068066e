package io.kiln.client.cli;

import io.kiln.client.JobView;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "submit", mixinStandardHelpOptions = true,
        description = "Submits a job spec; prints the new job's id alone on the last line.")
final class SubmitCommand extends ClientCommand {
    @Parameters(paramLabel = "SPEC.json")
    Path specFile;

    @Override
    public Integer call() throws IOException {
        String text;
        try {
            text = Files.readString(specFile);
        } catch (NoSuchFileException e) {
            err().println("kiln: spec file not found: " + specFile.toAbsolutePath());
            return 2;
        }
        JobView job = new JobView(client().submit(text));
        out().println("submitted " + job.name() + " as job " + job.id() + " (" + job.state() + ")");
        out().println(job.id());
        return 0;
    }
}
