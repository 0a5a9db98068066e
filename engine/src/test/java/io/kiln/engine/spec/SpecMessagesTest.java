package io.kiln.engine.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * What a person reads when a spec is wrong: the unknown field named, with the known one it most likely meant,
 * also where the slip makes a required field look missing; a document that is not JSON told in plain words with
 * its line, never the parser's classes or settings.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SpecMessagesTest {
    @Test
    void aMisspeltRequiredFieldIsTheUnknownFieldNotAMissingOne() {
        String spec = SpecParserTest.with(s -> {
            ObjectNode dense = (ObjectNode) s.get("model").get("layers").get(1);
            dense.remove("units");
            dense.put("unit", 100);
        });
        SpecException e = assertThrows(SpecException.class, () -> SpecParser.parse(spec));
        assertEquals("model.layers[1].unit", e.field());
        assertEquals("model.layers[1].unit: unknown field; did you mean \"units\"?", e.getMessage());
    }

    @Test
    void aMissingFieldWithNoSlipNearItIsRequired() {
        String spec = SpecParserTest.with(s -> ((ObjectNode) s.get("model").get("layers").get(1)).remove("units"));
        SpecException e = assertThrows(SpecException.class, () -> SpecParser.parse(spec));
        assertEquals("model.layers[1].units: is required", e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            snake case            | /optimizer/learning_rate=0.1   | optimizer.learning_rate | (none: too far from lr)
            a dropped letter      | /optimizer/momentm=0.9          | optimizer.momentm       | "momentum"
            snake case of a field | /training/batch_size=10         | training.batch_size     | "batchSize"
            a wrong case          | /data/ValidationSplit=0.1       | data.ValidationSplit    | "validationSplit"
            """)
    void anUnknownFieldSuggestsTheClosestKnownOne(String what, String edit, String field, String meant) {
        SpecException e = assertThrows(SpecException.class, () -> SpecParser.parse(SpecParserTest.edited(edit)));
        assertEquals(field, e.field(), e.getMessage());
        assertTrue(e.getMessage().startsWith(field + ": unknown field"), e.getMessage());
        if (meant.startsWith("(none")) {
            assertFalse(e.getMessage().contains("did you mean"), e.getMessage());
        } else {
            assertTrue(e.getMessage().contains("did you mean " + meant + "?"), e.getMessage());
        }
        assertTrue(e.getMessage().contains("(known here: "), "the known fields are listed: " + e.getMessage());
    }

    @Test
    void aChoiceOutsideTheListSuggestsTheClosest() {
        SpecException e = assertThrows(SpecException.class, () -> SpecParser.parse(SpecParserTest.edited("/optimizer/type=\"adma\"")));
        assertTrue(e.getMessage().endsWith("did you mean \"adam\"?"), e.getMessage());
    }

    @Test
    void closestOffersOnlyNamesCloseEnoughToBeASlip() {
        List<String> known = List.of("units", "bias", "init", "activation");
        assertEquals(Optional.of("units"), Suggestions.closest("unit", known));
        assertEquals(Optional.of("units"), Suggestions.closest("untis", known), "a swap of neighbours is one edit");
        assertEquals(Optional.empty(), Suggestions.closest("filters", known));
        assertEquals(Optional.empty(), Suggestions.closest("x", List.of("lr")), "one letter names nothing");
        assertEquals(1, Suggestions.distance("ab", "ba"));
        assertEquals(3, Suggestions.distance("kitten", "sitting"));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            a trailing comma in an object | {"name": "x",}                 | 1 | a field name in double quotes, found '}'
            a trailing comma in an array  | {"a": [1, 2,]}                 | 1 | found ']' (a comma before ] has nothing after it)
            a missing comma               | {"a": 1 "b": 2}                | 1 | expected a comma or } after a field's value
            a single-quoted name          | {'a': 1}                       | 1 | a field name in double quotes, found '''
            an unquoted word              | {"a": yes}                     | 1 | unrecognized word 'yes'
            NaN                           | {"a": NaN}                     | 1 | NaN is not a JSON number
            a comment                     | {"a": 1 // one\\n}             | 1 | JSON has no comments
            the end missing               | {"a": {"b": 1}                 | 1 | the text ends before the JSON does
            a leading zero                | {"a": 05}                      | 1 | a number starts with 0
            """)
    void malformedJsonIsToldInPlainWords(String what, String text, int line, String message) {
        SpecException e = assertThrows(SpecException.class, () -> SpecParser.parse(text.replace("\\n", "\n")));
        assertEquals("", e.field());
        assertTrue(e.getMessage().startsWith("the spec is not valid JSON at line " + line + ", column "), e.getMessage());
        assertTrue(e.getMessage().contains(message), what + ": " + e.getMessage());
        for (String internal : List.of("Feature", "Source", "REDACTED", "code ", "JsonParser", "`")) {
            assertFalse(e.getMessage().contains(internal), what + " names the parser's internals: " + e.getMessage());
        }
    }

    @Test
    void anEmptyDocumentSaysSo() {
        SpecException e = assertThrows(SpecException.class, () -> SpecParser.parse("  \n"));
        assertTrue(e.getMessage().contains("the spec is empty"), e.getMessage());
    }
}
