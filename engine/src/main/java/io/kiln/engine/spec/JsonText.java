package io.kiln.engine.spec;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a JSON document that a person wrote (a job spec, a sweep) and says what is wrong with one that is not
 * JSON in that person's terms, with its line and column: never the parser's own wording, which names its
 * classes and settings ({@code StreamReadFeature...}, {@code [Source: REDACTED ...]}).
 */
public final class JsonText {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern CHARACTER = Pattern.compile("Unexpected character \\('(.+?)' \\(code \\d+\\)\\)");
    private static final Pattern TOKEN = Pattern.compile("(?:Unrecognized|Non-standard) token '([^']*)'");

    private JsonText() {
    }

    /**
     * The document in {@code text}. One that is empty or not JSON is a {@link SpecException} on the whole
     * document (field ""), {@code what} naming it: "the spec", "the sweep".
     */
    public static JsonNode read(String text, String what) {
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw notJson(what, e);
        }
        if (root == null || root.isMissingNode()) {
            throw new SpecException("", what + " is empty: it must be a JSON object { ... }");
        }
        return root;
    }

    /** The refusal of a document that {@code e} says is not JSON: on the whole document, with its line and column. */
    public static SpecException notJson(String what, JsonProcessingException e) {
        return new SpecException("", what + " is not valid JSON" + where(e.getLocation()) + ": " + describe(e));
    }

    private static String where(JsonLocation at) {
        return at == null || at.getLineNr() < 1 ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
    }

    /** What is wrong, in plain words. */
    static String describe(JsonProcessingException e) {
        String m = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
        if (e instanceof JsonEOFException || m.startsWith("Unexpected end-of-input")) {
            return "the text ends before the JSON does (a closing }, ] or \" is missing)";
        }
        Matcher c = CHARACTER.matcher(m);
        String found = c.find() ? "'" + c.group(1) + "'" : null;
        if (m.contains("comment")) {
            return "JSON has no comments; remove the text starting with " + (found == null ? "/" : found);
        }
        if (found != null) {
            if (m.contains("double-quote to start field name")) {
                return "expected a field name in double quotes, found " + found
                        + (found.equals("'}'") ? " (a comma before } has nothing after it)" : "");
            }
            if (m.contains("comma to separate Object entries")) {
                return "expected a comma or } after a field's value, found " + found;
            }
            if (m.contains("comma to separate Array entries")) {
                return "expected a comma or ] after an array item, found " + found;
            }
            if (m.contains("colon to separate field name and value")) {
                return "expected a colon after the field name, found " + found;
            }
            if (m.contains("expected a valid value") || m.contains("expected a value")) {
                return "expected a value (a number, a string in double quotes, true, false, null, { } or [ ]), found "
                        + found + (found.equals("']'") ? " (a comma before ] has nothing after it)" : "");
            }
            if (m.contains("only regular white space")) {
                return "unexpected character " + found;
            }
        }
        Matcher t = TOKEN.matcher(m);
        if (t.find()) {
            String word = t.group(1);
            if (word.equals("NaN") || word.endsWith("Infinity") || word.endsWith("INF")) {
                return word + " is not a JSON number";
            }
            return "unrecognized word '" + word + "' (text goes in double quotes; true, false and null are lowercase)";
        }
        if (m.startsWith("Illegal unquoted character")) {
            return "a string holds a raw control character (a line break or a tab); write it as \\n or \\t";
        }
        if (m.startsWith("Unrecognized character escape")) {
            return "a string holds an unknown escape; write a backslash as \\\\";
        }
        if (m.contains("Leading zeroes")) {
            return "a number starts with 0 (write 5, not 05)";
        }
        return plain(m);
    }

    /** The parser's message without what names its internals: sources, features, character codes. */
    static String plain(String message) {
        String s = message.replaceAll("\\s*\\(code -?\\d+\\)", "")
                .replaceAll("\\s*\\[Source:[^\\]]*\\]", "")
                .replaceAll("\\s*\\([^()]*(Feature|Source|REDACTED)[^()]*\\)", "")
                .replaceAll("[^.;:(]*`[A-Za-z]+\\.[A-Z_]+`[^.;)]*", "")
                .replaceAll("\\s+", " ").strip();
        s = s.replaceAll("[\\s:;,]+$", "");
        return s.isEmpty() ? "it cannot be read as JSON" : s;
    }
}
