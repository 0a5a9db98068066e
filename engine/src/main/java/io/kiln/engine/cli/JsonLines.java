package io.kiln.engine.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;

/** Writes one JSON object per line and flushes, so a supervising process sees each event at once. */
final class JsonLines {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final PrintStream out;

    JsonLines(PrintStream out) {
        this.out = out;
    }

    ObjectNode event(String name) {
        ObjectNode n = JSON.createObjectNode();
        n.put("event", name);
        return n;
    }

    /** NaN and infinities are not JSON: they are written as null. */
    static void number(ObjectNode n, String field, double value) {
        if (Double.isFinite(value)) {
            n.put(field, value);
        } else {
            n.putNull(field);
        }
    }

    synchronized void emit(ObjectNode n) {
        try {
            out.println(JSON.writeValueAsString(n));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        out.flush();
    }
}
