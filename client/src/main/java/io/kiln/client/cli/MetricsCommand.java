package io.kiln.client.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "metrics", mixinStandardHelpOptions = true,
        description = "Prints a job's per-epoch metrics (train/validation loss and accuracy, samples/s), or with "
                + "--steps its per-step training loss; --csv writes them for a spreadsheet. Given several jobs, their "
                + "per-epoch metrics in one table (with --csv: job_id, job_name, epoch, ...).")
final class MetricsCommand extends ClientCommand {
    @Parameters(paramLabel = "ID", arity = "1..*")
    List<String> ids;

    @Option(names = "--csv", description = "comma-separated values with a header line")
    boolean csv;

    @Option(names = "--steps", description = "the per-step loss series instead of the per-epoch table")
    boolean steps;

    @Option(names = "--max-points", paramLabel = "N", description = "downsample the per-step series to N points")
    Integer maxPoints;

    @Override
    public Integer call() {
        if (ids.size() > 1) {
            return several();
        }
        return print(client().metrics(ids.get(0), maxPoints).path(steps ? "steps" : "epochs"));
    }

    /** Several jobs: the service's one CSV table, or each job's per-epoch table under its id and name. */
    private int several() {
        if (steps || maxPoints != null) {
            throw new KilnCli.BadArgumentException("--steps and --max-points are for one job; several jobs give their "
                    + "per-epoch metrics");
        }
        if (csv) {
            out().print(client().metricsCsv(ids));
            out().flush();
            return 0;
        }
        for (JsonNode j : client().metrics(ids).path("jobs")) {
            out().println("job " + j.path("jobId").asText() + " (" + j.path("name").asText() + ")");
            print(j.path("epochs"));
        }
        return 0;
    }

    private int print(JsonNode rows) {
        List<String> columns = columns(rows);
        if (csv) {
            out().println(String.join(",", columns));
            for (JsonNode r : rows) {
                List<String> cells = new ArrayList<>();
                for (String c : columns) {
                    JsonNode v = r.path(c);
                    cells.add(v.isMissingNode() || v.isNull() ? "" : v.asText());
                }
                out().println(String.join(",", cells));
            }
            return 0;
        }
        if (rows.isEmpty()) {
            out().println("(no " + (steps ? "step" : "epoch") + " metrics yet)");
            return 0;
        }
        StringBuilder header = new StringBuilder();
        for (String c : columns) {
            header.append(String.format(Locale.ROOT, "%14s", c));
        }
        out().println(header);
        for (JsonNode r : rows) {
            StringBuilder line = new StringBuilder();
            for (String c : columns) {
                JsonNode v = r.path(c);
                String cell = v.isIntegralNumber() ? v.asText() : v.isNumber()
                        ? String.format(Locale.ROOT, "%.4f", v.asDouble()) : v.isMissingNode() || v.isNull() ? "-" : v.asText();
                line.append(String.format(Locale.ROOT, "%14s", cell));
            }
            out().println(line);
        }
        return 0;
    }

    /** The union of the rows' fields, in the order they first appear. */
    static List<String> columns(JsonNode rows) {
        Set<String> cols = new LinkedHashSet<>();
        for (JsonNode r : rows) {
            Iterator<String> it = r.fieldNames();
            while (it.hasNext()) {
                cols.add(it.next());
            }
        }
        return new ArrayList<>(cols);
    }
}
