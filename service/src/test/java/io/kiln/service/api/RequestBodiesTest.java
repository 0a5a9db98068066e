package io.kiln.service.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kiln.service.errors.BadInput;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The optional fields of a small body: absent or null is none; a value of another type is refused naming the field. */
@Timeout(10)
class RequestBodiesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode body(String json) throws Exception {
        return JSON.readTree(json);
    }

    @Test
    void anOptionalWholeNumberIsReadOrNoneOrRefused() throws Exception {
        assertEquals(7, RequestBodies.optionalInt(body("{\"days\": 7}"), "days"));
        assertNull(RequestBodies.optionalInt(body("{}"), "days"));
        assertNull(RequestBodies.optionalInt(body("{\"days\": null}"), "days"));
        for (String bad : new String[] {"1.5", "\"7\"", "4294967296"}) {
            BadInput e = assertThrows(BadInput.class, () -> RequestBodies.optionalInt(body("{\"days\": " + bad + "}"), "days"));
            assertEquals("days", e.field());
            assertEquals("days: must be a whole number, got " + bad, e.getMessage());
        }
    }

    @Test
    void anOptionalStringIsReadOrNoneOrRefused() throws Exception {
        assertEquals("day", RequestBodies.optionalText(body("{\"label\": \"day\"}"), "label"));
        assertNull(RequestBodies.optionalText(body("{}"), "label"));
        assertNull(RequestBodies.optionalText(body("{\"label\": null}"), "label"));
        BadInput e = assertThrows(BadInput.class, () -> RequestBodies.optionalText(body("{\"label\": 3}"), "label"));
        assertEquals("label", e.field());
        assertEquals("label: must be a string, got 3", e.getMessage());
    }
}
