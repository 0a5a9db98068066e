package io.kiln.engine.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Reads one JSON object of a spec, keeping its path so every error names the field, and rejecting fields it
 * was never asked about (a typo such as {@code "lerning_rate"} must not be silently ignored). A field that is not
 * known is named as such, with the known one it most likely meant ({@link Suggestions}), also when the slip
 * makes a required field look missing: {@code "unit": 100} is an unknown field that meant {@code units}.
 */
final class SpecReader {
    private final JsonNode node;
    private final String path;
    private final Set<String> read = new java.util.HashSet<>();

    private SpecReader(JsonNode node, String path) {
        this.node = node;
        this.path = path;
    }

    static SpecReader of(JsonNode node, String path) {
        if (node == null || !node.isObject()) {
            throw new SpecException(path, "must be a JSON object, got " + describe(node));
        }
        return new SpecReader(node, path);
    }

    String path() {
        return path;
    }

    String field(String name) {
        return path.isEmpty() ? name : path + "." + name;
    }

    boolean has(String name) {
        JsonNode v = node.get(name);
        return v != null && !v.isNull();
    }

    JsonNode raw(String name) {
        read.add(name);
        return node.get(name);
    }

    SpecReader object(String name) {
        read.add(name);
        if (!has(name)) {
            throw missing(name, " (a JSON object)");
        }
        return of(node.get(name), field(name));
    }

    SpecReader optionalObject(String name) {
        read.add(name);
        return has(name) ? of(node.get(name), field(name)) : null;
    }

    String string(String name, String defaultValue) {
        read.add(name);
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) {
            if (defaultValue == null) {
                throw missing(name, "");
            }
            return defaultValue;
        }
        if (!v.isTextual()) {
            throw new SpecException(field(name), "must be a string, got " + describe(v));
        }
        return v.asText();
    }

    String choice(String name, String defaultValue, List<String> allowed) {
        String s = string(name, defaultValue);
        if (!allowed.contains(s)) {
            throw new SpecException(field(name), "must be one of " + allowed + ", got \"" + s + "\""
                    + Suggestions.didYouMean(s, allowed));
        }
        return s;
    }

    boolean bool(String name, boolean defaultValue) {
        read.add(name);
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) {
            return defaultValue;
        }
        if (!v.isBoolean()) {
            throw new SpecException(field(name), "must be true or false, got " + describe(v));
        }
        return v.asBoolean();
    }

    /** An integer in [min, max]; {@code defaultValue == null} makes it required. */
    int integer(String name, Integer defaultValue, int min, int max) {
        read.add(name);
        if (defaultValue == null && !has(name)) {
            throw missing(name, "");
        }
        return checkInt(node.get(name), field(name), defaultValue, min, max);
    }

    long longValue(String name, long defaultValue) {
        read.add(name);
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) {
            return defaultValue;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
            throw new SpecException(field(name), "must be an integer, got " + describe(v));
        }
        return v.asLong();
    }

    /**
     * A number in the range [min, max] (or (min, max] when minExclusive); {@code defaultValue == null} makes
     * it required.
     */
    double number(String name, Double defaultValue, double min, boolean minExclusive, double max) {
        read.add(name);
        JsonNode v = node.get(name);
        String f = field(name);
        if (v == null || v.isNull()) {
            if (defaultValue == null) {
                throw missing(name, "");
            }
            return defaultValue;
        }
        if (!v.isNumber()) {
            throw new SpecException(f, "must be a number, got " + describe(v));
        }
        double d = v.asDouble();
        boolean low = minExclusive ? d <= min : d < min;
        if (Double.isNaN(d) || low || d > max) {
            throw new SpecException(f, "must be " + (minExclusive ? "> " : ">= ") + fmt(min)
                    + (max == Double.MAX_VALUE ? "" : " and <= " + fmt(max)) + ", got " + v.asText());
        }
        return d;
    }

    int[] intArray(String name, int minLength, int maxLength, int min, int max) {
        read.add(name);
        JsonNode v = node.get(name);
        String f = field(name);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isArray() || v.size() < minLength || v.size() > maxLength) {
            throw new SpecException(f, "must be an array of " + (minLength == maxLength ? "" + minLength
                    : minLength + " to " + maxLength) + " integers, got " + describe(v));
        }
        int[] out = new int[v.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = checkInt(v.get(i), f + "[" + i + "]", null, min, max);
        }
        return out;
    }

    List<SpecReader> objectList(String name, boolean required) {
        read.add(name);
        JsonNode v = node.get(name);
        String f = field(name);
        if (v == null || v.isNull()) {
            if (required) {
                throw missing(name, "");
            }
            return null;
        }
        if (!v.isArray()) {
            throw new SpecException(f, "must be an array, got " + describe(v));
        }
        List<SpecReader> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            out.add(of(v.get(i), f + "[" + i + "]"));
        }
        return out;
    }

    /** Rejects any field that was not read. Call after reading everything the object may hold. */
    void finish() {
        Iterator<String> names = node.fieldNames();
        while (names.hasNext()) {
            String n = names.next();
            if (!read.contains(n)) {
                throw unknown(n);
            }
        }
    }

    private SpecException unknown(String name) {
        List<String> known = new ArrayList<>(read);
        java.util.Collections.sort(known);
        return new SpecException(field(name), "unknown field" + Suggestions.didYouMean(name, known)
                + (known.isEmpty() ? "" : " (known here: " + String.join(", ", known) + ")"));
    }

    /**
     * A required field is missing. When the object holds an unknown field close to its name, that field is the
     * error (the user wrote {@code "unit"}, not nothing); else the field is required.
     */
    private SpecException missing(String name, String what) {
        Iterator<String> names = node.fieldNames();
        while (names.hasNext()) {
            String n = names.next();
            if (!read.contains(n) && Suggestions.closest(n, List.of(name)).isPresent()) {
                return new SpecException(field(n), "unknown field; did you mean \"" + name + "\"?");
            }
        }
        return new SpecException(field(name), "is required" + what);
    }

    ObjectNode node() {
        return (ObjectNode) node;
    }

    static int checkInt(JsonNode v, String f, Integer defaultValue, int min, int max) {
        if (v == null || v.isNull()) {
            if (defaultValue == null) {
                throw new SpecException(f, "is required");
            }
            return defaultValue;
        }
        if (!v.isIntegralNumber() && !(v.isNumber() && v.asDouble() == Math.rint(v.asDouble()))) {
            throw new SpecException(f, "must be an integer, got " + describe(v));
        }
        double d = v.asDouble();
        if (d < min || d > max) {
            throw new SpecException(f, "must be between " + min + " and " + max + ", got " + v.asText());
        }
        return (int) d;
    }

    static String describe(JsonNode v) {
        if (v == null || v.isNull()) {
            return "nothing";
        }
        String text = v.toString();
        if (text.length() > 60) {
            text = text.substring(0, 57) + "...";
        }
        return switch (v.getNodeType()) {
            case STRING -> "the string " + text;
            case NUMBER -> "the number " + text;
            case BOOLEAN -> text;
            case ARRAY -> "an array " + text;
            case OBJECT -> "an object " + text;
            default -> text;
        };
    }

    private static String fmt(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? Long.toString((long) d) : Double.toString(d);
    }
}
