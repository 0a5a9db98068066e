package io.kiln.client.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "sweep", mixinStandardHelpOptions = true,
        description = "Submits a sweep (a base spec and a grid of values), then shows its summary table until every "
                + "point has ended; the best point is marked. With --id, shows an existing sweep.")
final class SweepCommand extends ClientCommand {
    @Parameters(paramLabel = "SWEEP.json", arity = "0..1")
    Path file;

    @Option(names = "--id", description = "show this sweep instead of submitting one")
    String sweepId;

    @Option(names = "--no-wait", description = "print the sweep's id and return at once")
    boolean noWait;

    @Option(names = "--interval", defaultValue = "2.0", paramLabel = "SECONDS")
    double interval;

    @Option(names = "--csv", description = "print the summary as CSV (a column per swept parameter, then the figures; "
            + "a row per point and one for the retraining) instead of the table, for a spreadsheet or a report")
    boolean csv;

    @Override
    public Integer call() throws Exception {
        checkInterval(interval);
        String id = sweepId;
        if (id == null) {
            if (file == null) {
                err().println("kiln: give SWEEP.json or --id");
                return 2;
            }
            if (file.toString().matches("\\d+") && !java.nio.file.Files.exists(file)) {
                // "kiln sweep 1" means the sweep, not a file named 1
                throw new KilnCli.BadArgumentException("sweep file not found: " + file.toAbsolutePath()
                        + " (to show sweep " + file + ", give --id " + file + ")");
            }
            JsonNode created = client().submitSweep(readFile(file, "sweep"));
            id = created.path("id").asText();
            // With --csv the output is the table alone, to be redirected to a file: the note goes to stderr.
            (csv ? err() : out()).println("submitted sweep " + id + " with " + created.path("points").size() + " points"
                    + (created.path("retrain").asBoolean() ? ", then the retraining of the best" : ""));
            if (noWait) {
                out().println(id);
                return 0;
            }
        }
        JsonNode sweep;
        while (true) {
            sweep = client().sweep(id);
            String state = sweep.path("state").asText();
            if (!state.equals("QUEUED") && !state.equals("RUNNING")) {
                break;
            }
            Thread.sleep((long) (interval * 1000));
        }
        if (csv) {
            out().print(client().sweepCsv(id));
            out().flush();
        } else {
            table(sweep);
            out().println(id);
        }
        return sweep.path("state").asText().equals("SUCCEEDED") ? 0 : 1;
    }

    void table(JsonNode sweep) {
        JsonNode best = sweep.path("best");
        out().printf("sweep %s: %s%n", sweep.path("id").asText(), sweep.path("state").asText());
        out().printf("  %-40s %-10s %-10s %-12s %-6s %-9s %s%n", "VALUES", "JOB", "STATE", "BEST VAL ACC", "EPOCH", "TEST ACC", "SECONDS");
        for (JsonNode p : sweep.path("points")) {
            boolean isBest = best.path("jobId").asText("").equals(p.path("jobId").asText());
            out().printf("%s %-40s %-10s %-10s %-12s %-6s %-9s %s%n", isBest ? "*" : " ", values(p.path("values")),
                    p.path("jobId").asText(), p.path("state").asText(), num(p.path("bestValAcc")),
                    p.path("bestEpoch").asText("-"), num(p.path("testAcc")), num1(p.path("seconds")));
        }
        if (best.isObject()) {
            out().println("best: " + values(best.path("values")) + " (job " + best.path("jobId").asText() + ")");
        }
        JsonNode retrained = sweep.path("retrained");
        if (retrained.isObject()) {
            int epochs = retrained.path("epochs").asInt();
            out().println("retrained on training + validation data for " + epochs + (epochs == 1 ? " epoch" : " epochs")
                    + ": test acc " + num(retrained.path("testAcc")) + " (job " + retrained.path("jobId").asText()
                    + ", " + retrained.path("state").asText() + ")");
        } else if (sweep.path("retrainNote").isTextual()) {
            out().println(sweep.path("retrainNote").asText());
        }
    }

    static String values(JsonNode v) {
        StringBuilder s = new StringBuilder();
        Iterator<Map.Entry<String, JsonNode>> it = v.fields();
        while (it.hasNext()) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey().substring(e.getKey().lastIndexOf('.') + 1);
            s.append(s.isEmpty() ? "" : " ").append(key).append('=').append(e.getValue().asText());
        }
        return s.toString();
    }

    static String num(JsonNode n) {
        return n.isNumber() ? String.format(Locale.ROOT, "%.4f", n.asDouble()) : "-";
    }

    static String num1(JsonNode n) {
        return n.isNumber() ? String.format(Locale.ROOT, "%.1f", n.asDouble()) : "-";
    }
}
