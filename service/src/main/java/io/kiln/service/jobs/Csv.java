package io.kiln.service.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * Comma-separated values for a spreadsheet or pandas: one header line, then one line per row, cells quoted as
 * RFC 4180 says when they hold a comma, a quote or a line break. A text cell that a spreadsheet would run as a
 * formula (starting with {@code = + - @}, a tab or a carriage return; job names are anyone's to choose) is
 * prefixed with {@code '}, as OWASP advises; numbers are written as they are.
 */
public final class Csv {
    /** The media type of the answers. */
    public static final String MEDIA_TYPE = "text/csv";
    private final StringBuilder out = new StringBuilder();

    public Csv(List<String> header) {
        row(List.copyOf(header));
    }

    /** Appends a row: each cell a number, a string, a JSON value (arrays and objects as JSON text) or null (empty). */
    public Csv row(List<?> cells) {
        for (int i = 0; i < cells.size(); i++) {
            if (i > 0) {
                out.append(',');
            }
            out.append(cell(cells.get(i)));
        }
        out.append('\n');
        return this;
    }

    static String cell(Object v) {
        if (v == null) {
            return "";
        }
        if (v instanceof Double d) {
            return Double.isFinite(d) ? d.toString() : "";
        }
        if (v instanceof Number n) {
            return n.toString();
        }
        if (v instanceof JsonNode j) {
            if (j.isNull() || j.isMissingNode()) {
                return "";
            }
            if (j.isNumber() || j.isBoolean()) {
                return j.asText();
            }
            return text(j.isTextual() ? j.asText() : j.toString());
        }
        return text(v.toString());
    }

    private static String text(String s) {
        if (!s.isEmpty() && "=+-@\t\r".indexOf(s.charAt(0)) >= 0) {
            s = "'" + s;
        }
        if (s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r")
                || !s.equals(s.strip())) {
            return "\"" + s.replace("\"", "\"\"") + "\"";
        }
        return s;
    }

    @Override
    public String toString() {
        return out.toString();
    }
}
