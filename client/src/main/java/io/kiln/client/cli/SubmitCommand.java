package io.kiln.client.cli;

import io.kiln.client.JobView;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "submit", mixinStandardHelpOptions = true,
        description = "Submits a job spec; prints the new job's id alone on the last line.")
final class SubmitCommand extends ClientCommand {
    @Parameters(paramLabel = "SPEC.json")
    Path specFile;

    @Override
    public Integer call() {
        String text = readFile(specFile, "spec");
        JobView job = new JobView(client().submit(text));
        out().println("submitted " + job.name() + " as job " + job.id() + " (" + job.state() + ")");
        out().println(job.id());
        return 0;
    }
}
