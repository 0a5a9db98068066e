package io.kiln.client;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Set;

/** Read-only accessors over a job as the service answers it (CONTRACT.md's fields), tolerant of absent ones. */
public record JobView(JsonNode json) {
    public static final Set<String> TERMINAL = Set.of("SUCCEEDED", "FAILED", "CANCELLED");

    public String id() {
        return json.path("id").asText();
    }

    public String name() {
        return json.path("name").asText("");
    }

    public String user() {
        return json.path("user").asText("");
    }

    public String state() {
        return json.path("state").asText("?");
    }

    public boolean finished() {
        return TERMINAL.contains(state());
    }

    public String device() {
        return json.path("device").asText("-");
    }

    public String error() {
        return json.path("error").isNull() ? "" : json.path("error").asText("");
    }

    public int epoch() {
        return json.path("progress").path("epoch").asInt(0);
    }

    public int epochs() {
        return json.path("progress").path("epochs").asInt(0);
    }

    public int step() {
        return json.path("progress").path("step").asInt(0);
    }

    public int steps() {
        return json.path("progress").path("steps").asInt(0);
    }

    /** Done fraction in [0, 1], counting finished epochs and the steps of the current one. */
    public double fraction() {
        if (state().equals("SUCCEEDED")) {
            return 1;
        }
        if (epochs() <= 0) {
            return 0;
        }
        double inEpoch = steps() > 0 ? (double) step() / steps() : 0;
        return Math.max(0, Math.min(1, (Math.max(epoch(), 1) - 1 + inEpoch) / epochs()));
    }

    /** The latest value of a metric ({@code loss}, {@code train_acc}, {@code val_acc}, ...), NaN when unknown. */
    public double metric(String name) {
        for (String holder : new String[] {"metrics", "latestMetrics", "latest"}) {
            JsonNode v = json.path(holder).path(name);
            if (v.isNumber()) {
                return v.asDouble();
            }
        }
        JsonNode v = json.path(name);
        return v.isNumber() ? v.asDouble() : Double.NaN;
    }
}
