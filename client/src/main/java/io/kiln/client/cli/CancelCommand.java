package io.kiln.client.cli;

import io.kiln.client.JobView;
import picocli.CommandLine.Command;

@Command(name = "cancel", mixinStandardHelpOptions = true,
        description = "Cancels a job (its owner or an admin only).")
final class CancelCommand extends JobCommandBase {
    @Override
    public Integer call() {
        JobView job = new JobView(client().cancel(id));
        out().println("job " + id + ": " + (job.json().has("state") ? job.state() : "cancel requested"));
        return 0;
    }
}
