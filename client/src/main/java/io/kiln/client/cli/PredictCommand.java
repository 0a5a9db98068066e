package io.kiln.client.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "predict", mixinStandardHelpOptions = true,
        description = "Classifies images (PNG or JPEG) with a job's trained weights: each image's predicted class and "
                + "its highest scores, or with --json every class's score.")
final class PredictCommand extends JobCommandBase {
    /** How many of the highest scores a line shows. */
    static final int SHOWN = 5;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "IMAGE")
    List<Path> images;

    @Option(names = "--json", description = "the server's answer as it is: every class's score")
    boolean json;

    @Override
    public Integer call() {
        JsonNode answer = client().predict(id, images);
        if (json) {
            out().println(answer.toPrettyString());
            return 0;
        }
        for (JsonNode p : answer.path("predictions")) {
            List<Map.Entry<String, JsonNode>> scores = new ArrayList<>();
            p.path("scores").fields().forEachRemaining(scores::add);
            scores.sort((a, b) -> Double.compare(b.getValue().asDouble(), a.getValue().asDouble()));
            StringBuilder line = new StringBuilder();
            for (Map.Entry<String, JsonNode> s : scores.subList(0, Math.min(SHOWN, scores.size()))) {
                line.append(String.format(Locale.ROOT, "  %s %.3f", s.getKey(), s.getValue().asDouble()));
            }
            out().println(p.path("image").asText() + ": " + p.path("class").asText() + " |" + line);
        }
        return 0;
    }
}
