package io.kiln.engine.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Expands a sweep (a base spec and a grid of values over spec paths such as {@code model.layers[1].units} or
 * {@code optimizer.lr}) into one checked job spec per point of the grid's cartesian product.
 */
public final class SweepGrid {
    public static final int MAX_POINTS = 200;
    /** The longest grid path, and the most digits of an index in one (no spec holds a million layers). */
    public static final int MAX_PATH_LENGTH = 200;
    private static final Pattern SEGMENT = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)((?:\\[\\d{1,6}])*)");
    private static final Pattern INDEX = Pattern.compile("\\[(\\d{1,6})]");

    private SweepGrid() {
    }

    /** One point: the value of each grid path, and the full spec for it. */
    public record Point(Map<String, JsonNode> values, JobSpec spec) {
    }

    /**
     * @param base the base spec document
     * @param grid an object whose fields are spec paths and whose values are non-empty arrays
     * @throws SpecException naming {@code grid.<path>} or, for a point that breaks a spec rule, the point and the
     *                       field
     */
    public static List<Point> expand(JsonNode base, JsonNode grid) {
        if (base == null || !base.isObject()) {
            throw new SpecException("base", "must be a job spec (a JSON object)");
        }
        if (grid == null || !grid.isObject() || grid.isEmpty()) {
            throw new SpecException("grid", "must be an object of spec paths to arrays of values, e.g. "
                    + "{\"optimizer.lr\": [0.1, 0.01]}");
        }
        List<String> paths = new ArrayList<>();
        List<ArrayNode> values = new ArrayList<>();
        long count = 1;
        Iterator<Map.Entry<String, JsonNode>> fields = grid.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> f = fields.next();
            if (f.getKey().length() > MAX_PATH_LENGTH) {
                throw new SpecException("grid", "a path is " + f.getKey().length() + " characters long, more than "
                        + MAX_PATH_LENGTH + ": " + f.getKey().substring(0, 40) + "...");
            }
            String field = "grid." + f.getKey();
            if (!f.getValue().isArray() || f.getValue().isEmpty()) {
                throw new SpecException(field, "must be a non-empty array of values");
            }
            checkPath(base, f.getKey(), field);
            paths.add(f.getKey());
            values.add((ArrayNode) f.getValue());
            count *= f.getValue().size();
            if (count > MAX_POINTS) {
                throw new SpecException("grid", "has more than " + MAX_POINTS + " points");
            }
        }
        List<Point> points = new ArrayList<>();
        int[] at = new int[paths.size()];
        for (int p = 0; p < count; p++) {
            ObjectNode doc = base.deepCopy();
            Map<String, JsonNode> chosen = new LinkedHashMap<>();
            StringBuilder label = new StringBuilder();
            for (int d = 0; d < paths.size(); d++) {
                JsonNode v = values.get(d).get(at[d]);
                set(doc, paths.get(d), v);
                chosen.put(paths.get(d), v);
                label.append(label.isEmpty() ? "" : ",").append(shortName(paths.get(d))).append('=').append(v.asText());
            }
            doc.put("name", base.path("name").asText("sweep") + "[" + label + "]");
            try {
                points.add(new Point(chosen, SpecParser.parse(doc)));
            } catch (SpecException e) {
                throw new SpecException(e.field(), "at grid point " + (p + 1) + " (" + label + "): "
                        + e.getMessage().substring(e.field().isEmpty() ? 0 : e.field().length() + 2));
            }
            for (int d = paths.size() - 1; d >= 0; d--) {
                if (++at[d] < values.get(d).size()) {
                    break;
                }
                at[d] = 0;
            }
        }
        return points;
    }

    /** The last named part of a path: {@code model.layers[1].units} gives {@code units}. */
    static String shortName(String path) {
        String last = path.substring(path.lastIndexOf('.') + 1);
        int bracket = last.indexOf('[');
        return bracket < 0 ? last : last.substring(0, bracket);
    }

    private static void checkPath(JsonNode base, String path, String field) {
        JsonNode node = base;
        String[] parts = path.split("\\.", -1);
        for (int i = 0; i < parts.length; i++) {
            Matcher m = SEGMENT.matcher(parts[i]);
            if (!m.matches()) {
                throw new SpecException(field, "is not a spec path like model.layers[1].units or optimizer.lr (an index "
                        + "has at most 6 digits)");
            }
            boolean last = i == parts.length - 1;
            JsonNode child = node.get(m.group(1));
            List<Integer> indices = indices(m.group(2));
            if (child == null) {
                if (last && indices.isEmpty() && node.isObject()) {
                    return;
                }
                throw new SpecException(field, "the base spec has no " + String.join(".", java.util.Arrays.copyOf(parts, i + 1)));
            }
            for (int index : indices) {
                if (!child.isArray() || index >= child.size()) {
                    throw new SpecException(field, "the base spec has no element " + index + " in " + m.group(1));
                }
                child = child.get(index);
            }
            node = child;
        }
    }

    private static void set(ObjectNode doc, String path, JsonNode value) {
        String[] parts = path.split("\\.");
        JsonNode node = doc;
        for (int i = 0; i < parts.length; i++) {
            Matcher m = SEGMENT.matcher(parts[i]);
            m.matches();
            List<Integer> indices = indices(m.group(2));
            boolean last = i == parts.length - 1;
            if (last && indices.isEmpty()) {
                ((ObjectNode) node).set(m.group(1), value);
                return;
            }
            JsonNode child = node.get(m.group(1));
            for (int k = 0; k < indices.size(); k++) {
                if (last && k == indices.size() - 1) {
                    ((ArrayNode) child).set(indices.get(k), value);
                    return;
                }
                child = child.get(indices.get(k));
            }
            node = child;
        }
    }

    private static List<Integer> indices(String brackets) {
        List<Integer> out = new ArrayList<>();
        Matcher m = INDEX.matcher(brackets);
        while (m.find()) {
            out.add(Integer.parseInt(m.group(1)));
        }
        return out;
    }
}
