package io.kiln.service.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.service.errors.BadInput;
import io.micronaut.core.annotation.Nullable;
import java.util.Iterator;
import java.util.List;
import java.util.function.Predicate;

/** Reading the small JSON bodies of PATCH and POST requests: only known fields, each of its type. */
final class RequestBodies {
    private RequestBodies() {
    }

    /** The body as an object with no field but {@code allowed}; null (no body) is an empty object. */
    static JsonNode object(@Nullable JsonNode body, String... allowed) {
        if (body == null || body.isNull() || body.isMissingNode()) {
            return com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
        }
        if (!body.isObject()) {
            throw new BadInput("the body must be a JSON object with the fields " + List.of(allowed));
        }
        for (Iterator<String> names = body.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!List.of(allowed).contains(name)) {
                throw new BadInput(name, "unknown field; this body takes " + List.of(allowed));
            }
        }
        return body;
    }

    /** The body {@code {"field": true|false}} and nothing else, as the PATCH of a flag takes it. */
    static boolean onlyBoolean(@Nullable JsonNode body, String field) {
        return requiredBoolean(object(body, field), field);
    }

    private static boolean requiredBoolean(JsonNode body, String field) {
        JsonNode v = body.get(field);
        if (v == null || !v.isBoolean()) {
            throw new BadInput(field, v == null ? "is required (true or false)" : "must be true or false, got " + shown(v));
        }
        return v.booleanValue();
    }

    @Nullable
    static Integer optionalInt(JsonNode body, String field) {
        JsonNode v = optional(body, field, n -> n.isIntegralNumber() && n.canConvertToInt(), "must be a whole number");
        return v == null ? null : v.intValue();
    }

    @Nullable
    static String optionalText(JsonNode body, String field) {
        JsonNode v = optional(body, field, JsonNode::isTextual, "must be a string");
        return v == null ? null : v.textValue();
    }

    /** The field's value, null when it is absent or JSON null; a value that is not {@code ok} is refused naming the rule. */
    @Nullable
    private static JsonNode optional(JsonNode body, String field, Predicate<JsonNode> ok, String rule) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!ok.test(v)) {
            throw new BadInput(field, rule + ", got " + shown(v));
        }
        return v;
    }

    /** A value as a message quotes it: short, whatever the request sent. */
    private static String shown(JsonNode v) {
        String s = v.toString();
        return s.length() > 40 ? s.substring(0, 37) + "..." : s;
    }
}
