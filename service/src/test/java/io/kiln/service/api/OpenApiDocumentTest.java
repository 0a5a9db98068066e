package io.kiln.service.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * The OpenAPI document the service serves at /openapi/kiln-1.yml (generated from the controllers at compile time):
 * every operation has a summary and documents its error answers in the one Error shape, and Redocly's linter
 * with its recommended rules finds no error and no warning but the one explained below.
 */
class OpenApiDocumentTest {
    /** Pinned: the lint's verdict must not change under the test; 2.x runs on the Node.js 20 of these machines. */
    static final String REDOCLY = "@redocly/cli@2.77.0";
    static final String ERROR_REF = "#/components/schemas/Error";
    static final ObjectMapper JSON = new ObjectMapper();

    static String document() throws IOException {
        try (InputStream in = OpenApiDocumentTest.class.getResourceAsStream("/META-INF/swagger/kiln-1.yml")) {
            assertTrue(in != null, "the generated OpenAPI document is on the class path");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    @Timeout(30)
    @SuppressWarnings("unchecked")
    void everyOperationDocumentsItsErrorsInTheOneShape() throws IOException {
        Map<String, Object> doc = new Yaml().load(document());
        assertFalse(((List<?>) doc.get("servers")).isEmpty(), "servers");
        Map<String, Map<String, Object>> paths = (Map<String, Map<String, Object>>) doc.get("paths");
        List<String> operations = new ArrayList<>();
        paths.forEach((path, item) -> item.forEach((method, op) -> {
            String name = method.toUpperCase() + " " + path;
            operations.add(name);
            Map<String, Object> o = (Map<String, Object>) op;
            assertTrue(o.get("summary") instanceof String s && !s.isBlank(), name + " has a summary");
            Map<String, Map<String, Object>> responses = (Map<String, Map<String, Object>>) o.get("responses");
            // every operation needs a token, so each documents at least its 401 (and 500)
            assertTrue(responses.containsKey("401") && responses.containsKey("500"), name + ": " + responses.keySet());
            responses.forEach((code, r) -> {
                if (code.startsWith("4") || code.startsWith("5")) {
                    Map<String, Object> content = (Map<String, Object>) r.get("content");
                    assertEquals(1, content.size(), name + " " + code);
                    assertTrue(content.containsKey(ApiErrors.MEDIA_TYPE), name + " " + code + ": " + content.keySet());
                    Map<String, Object> schema = (Map<String, Object>) ((Map<String, Object>) content.values().iterator()
                            .next()).get("schema");
                    assertEquals(ERROR_REF, schema.get("$ref"), name + " " + code);
                }
            });
        }));
        assertTrue(operations.contains("PATCH /api/v1/jobs/{id}") && operations.contains("DELETE /api/v1/users/{name}/tokens/{tokenId}")
                && operations.contains("GET /api/v1/users/{name}/tokens") && operations.contains("PATCH /api/v1/users/{name}")
                && operations.containsAll(List.of("POST /api/v1/models", "GET /api/v1/models", "GET /api/v1/models/{name}",
                        "PATCH /api/v1/models/{name}", "GET /api/v1/jobs/{id}/onnx")),
                operations.toString());
    }

    /** Redocly's {@code lint} with its recommended rules; skipped, saying so, where there is no npx (Node.js). */
    @Test
    @Timeout(300)
    void redoclyFindsNoErrorAndNoMissing4xx(@TempDir Path tmp) throws IOException, InterruptedException {
        String npx = onPath("npx");
        assumeTrue(npx != null, "npx (Node.js) is not on the PATH: the Redocly lint of the OpenAPI document is skipped");
        Path file = Files.writeString(tmp.resolve("kiln-1.yml"), document());
        Process p = new ProcessBuilder(npx, "--yes", REDOCLY, "lint", "--format=json", file.toString())
                .directory(tmp.toFile()).redirectError(tmp.resolve("stderr.txt").toFile()).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(240, TimeUnit.SECONDS), "the lint ended");
        String stdout = new String(out, StandardCharsets.UTF_8);
        String stderr = Files.readString(tmp.resolve("stderr.txt"));
        assertTrue(stdout.strip().startsWith("{"), "npx " + REDOCLY + " did not run (is the npm registry reachable?): "
                + stdout + "\n" + stderr);
        JsonNode result = JSON.readTree(stdout);
        List<String> problems = new ArrayList<>();
        for (JsonNode problem : result.path("problems")) {
            // Kiln has not chosen a license yet; the document cannot name one before the project does.
            if (!problem.path("ruleId").asText().equals("info-license")) {
                problems.add(problem.path("severity").asText() + " " + problem.path("ruleId").asText() + ": "
                        + problem.path("message").asText() + " at " + problem.path("location").path(0).path("pointer").asText());
            }
        }
        assertEquals(0, result.path("totals").path("errors").asInt(), problems.toString());
        assertEquals(List.of(), problems);
        assertEquals(0, p.exitValue(), stderr);
    }

    static String onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            File f = new File(dir, tool);
            if (f.canExecute()) {
                return f.getAbsolutePath();
            }
        }
        return null;
    }
}
