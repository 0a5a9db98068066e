package io.kiln.client.cli;

import io.kiln.client.JobView;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

@Command(name = "cancel", mixinStandardHelpOptions = true,
        description = "Cancels a job (its owner or an admin only).")
final class CancelCommand extends ClientCommand {
    @Parameters(paramLabel = "ID")
    String id;

    @Override
    public Integer call() {
        JobView job = new JobView(client().cancel(id));
        out().println("job " + id + ": " + (job.json().has("state") ? job.state() : "cancel requested"));
        return 0;
    }
}
