package io.kiln.engine.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintStream;

/** Writes one JSON object per line and flushes, so a supervising process sees each event at once. */
final class JsonLines {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final PrintStream out;
    private PrintStream copy;

    JsonLines(PrintStream out) {
        this.out = out;
    }

    /**
     * Also appends every event to a file (a run's {@code events.jsonl}), so what a supervisor missed, say while
     * it was down, can be read back later.
     */
    void copyTo(java.nio.file.Path file) throws java.io.IOException {
        copy = new PrintStream(java.nio.file.Files.newOutputStream(file, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.APPEND), true, java.nio.charset.StandardCharsets.UTF_8);
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
            String line = JSON.writeValueAsString(n);
            out.println(line);
            if (copy != null) {
                copy.println(line);
            }
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        out.flush();
        if (out.checkError()) {
            // Nobody reads the events any more: the supervising process (a Kiln server killed outright, or a
            // closed pipe) is gone. Stop rather than train on unseen, holding the device and rewriting the
            // checkpoint under a resumed run. Checkpoints are written atomically, so stopping here is safe.
            System.err.println("kiln-engine: standard output is closed (its reader is gone); stopping");
            System.exit(EXIT_OUTPUT_CLOSED);
        }
    }

    /** Exit status when standard output is closed under the command (the supervisor is gone). */
    static final int EXIT_OUTPUT_CLOSED = 1;
}
