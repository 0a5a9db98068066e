package io.kiln.client.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(name = "sweeps", mixinStandardHelpOptions = true,
        description = "Lists sweeps, newest first: state, points, the best point and the retrained test accuracy.")
final class SweepsCommand extends ClientCommand {
    @Mixin
    Listing listing;

    @Override
    public Integer call() {
        JsonNode list = client().sweeps(listing.user, listing.page, listing.size).path("sweeps");
        out().printf("%-8s %-24s %-12s %-10s %-6s %-32s %-12s %s%n", "ID", "NAME", "USER", "STATE", "POINTS", "BEST",
                "BEST VAL ACC", "RETRAINED TEST ACC");
        for (JsonNode s : list) {
            JsonNode best = s.path("best");
            JsonNode retrained = s.path("retrained");
            out().printf("%-8s %-24s %-12s %-10s %-6s %-32s %-12s %s%n", s.path("id").asText(),
                    JobsCommand.cut(s.path("name").asText(), 24), JobsCommand.cut(s.path("user").asText(), 12),
                    s.path("state").asText(), s.path("pointCount").asText(),
                    best.isObject() ? JobsCommand.cut(SweepCommand.values(best.path("values")), 32) : "-",
                    SweepCommand.num(best.path("bestValAcc")),
                    retrained.isObject() ? SweepCommand.num(retrained.path("testAcc")) + " (job "
                            + retrained.path("jobId").asText() + ")" : s.path("retrain").asBoolean() ? "pending" : "-");
        }
        if (list.isEmpty()) {
            out().println("(no sweeps)");
        }
        return 0;
    }
}
