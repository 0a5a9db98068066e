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
                + "--steps its per-step training loss; --csv writes them for a spreadsheet.")
final class MetricsCommand extends ClientCommand {
    @Parameters(paramLabel = "ID")
    String id;

    @Option(names = "--csv", description = "comma-separated values with a header line")
    boolean csv;

    @Option(names = "--steps", description = "the per-step loss series instead of the per-epoch table")
    boolean steps;

    @Option(names = "--max-points", paramLabel = "N", description = "downsample the per-step series to N points")
    Integer maxPoints;

    @Override
    public Integer call() {
        JsonNode m = client().metrics(id, maxPoints);
        JsonNode rows = m.path(steps ? "steps" : "epochs");
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
