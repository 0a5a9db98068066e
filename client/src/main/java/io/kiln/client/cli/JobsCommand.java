package io.kiln.client.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.client.JobView;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "jobs", mixinStandardHelpOptions = true, description = "Lists jobs, newest first.")
final class JobsCommand extends ClientCommand {
    @Option(names = "--state", description = "only jobs in this state (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)")
    String state;

    @Mixin
    Listing listing;

    @Override
    public Integer call() {
        JsonNode answer = client().jobs(state, listing.user, listing.page, listing.size);
        List<JobView> jobs = new ArrayList<>();
        JsonNode list = answer.isArray() ? answer : firstArray(answer, "content", "jobs", "items");
        list.forEach(j -> jobs.add(new JobView(j)));
        out().printf("%-10s %-28s %-12s %-10s %-10s %-16s %s%n", "ID", "NAME", "USER", "STATE", "DEVICE", "PROGRESS", "VAL ACC");
        for (JobView j : jobs) {
            String progress = j.epochs() > 0 ? String.format("%3.0f%% ep %d/%d", 100 * j.fraction(), j.epoch(), j.epochs()) : "-";
            double acc = j.metric("val_acc");
            out().printf("%-10s %-28s %-12s %-10s %-10s %-16s %s%n", j.id(), cut(j.name(), 28), cut(j.user(), 12),
                    j.state(), cut(j.device(), 10), progress, Double.isNaN(acc) ? "-" : String.format("%.4f", acc));
        }
        if (jobs.isEmpty()) {
            out().println("(no jobs)");
        }
        return 0;
    }

    static JsonNode firstArray(JsonNode n, String... names) {
        for (String name : names) {
            if (n.path(name).isArray()) {
                return n.get(name);
            }
        }
        return n.isArray() ? n : com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.arrayNode();
    }

    static String cut(String s, int n) {
        return s.length() <= n ? s : s.substring(0, n - 1) + "~";
    }
}
