package io.kiln.service.jobs;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kiln.engine.spec.JsonText;
import io.kiln.engine.spec.SpecException;
import io.kiln.service.config.KilnLimits;
import io.kiln.service.errors.BadInput;
import jakarta.inject.Singleton;
import java.nio.charset.StandardCharsets;

/**
 * Reads a JSON request body (a job spec, a sweep) within kiln.max-json-bytes and kiln.max-json-depth: a body
 * beyond either is a 400 naming {@code body} and the limit, before it costs more than its own size.
 */
@Singleton
public class RequestJson {
    private final KilnLimits limits;
    private final ObjectMapper mapper;

    public RequestJson(KilnLimits limits) {
        this.limits = limits;
        this.mapper = new ObjectMapper(JsonFactory.builder().streamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(limits.maxJsonDepth()).maxDocumentLength(limits.maxJsonBytes())
                .maxStringLength(limits.maxJsonBytes()).build()).build());
    }

    /**
     * @throws BadInput for a body over a limit
     * @param what the document, for a message on one that is not JSON: "the spec", "the sweep"
     * @throws SpecException for a body that is not JSON (field "", with the line and column)
     */
    public JsonNode parse(String body, String what) {
        if (body == null || body.isBlank()) {
            throw new SpecException("", "the body is empty; send a JSON object");
        }
        if (body.length() > limits.maxJsonBytes()
                || body.getBytes(StandardCharsets.UTF_8).length > limits.maxJsonBytes()) {
            throw tooLarge();
        }
        try {
            return mapper.readTree(body);
        } catch (StreamConstraintsException e) {
            if (String.valueOf(e.getMessage()).contains("nesting depth")) {
                throw new BadInput("body", "nests objects and arrays more than " + limits.maxJsonDepth()
                        + " deep (kiln.max-json-depth)");
            }
            throw tooLarge();
        } catch (JsonProcessingException e) {
            throw JsonText.notJson(what, e);
        }
    }

    private BadInput tooLarge() {
        return new BadInput("body", "is larger than " + limits.maxJsonBytes() + " bytes (kiln.max-json-bytes)");
    }
}
