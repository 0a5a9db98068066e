package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * What several API tests need beside {@link KilnServer}: users with tokens, multipart uploads, and the events
 * file a worker writes in its job's folder (the engine's own account of a run, to check stored metrics against).
 */
final class ApiTestSupport {
    private ApiTestSupport() {
    }

    /** Creates a user of this role (as the admin; one that exists already is fine) and returns a fresh token. */
    static String token(KilnServer kiln, String user, String role) {
        KilnServer.Answer u = kiln.post("/api/v1/users", KilnServer.ADMIN,
                "{\"name\":\"" + user + "\",\"role\":\"" + role + "\"}");
        assertTrue(u.status() == 201 || u.status() == 409, u.body());
        KilnServer.Answer t = kiln.post("/api/v1/users/" + user + "/tokens", KilnServer.ADMIN, "{}");
        assertEquals(201, t.status(), t.body());
        return t.json().get("token").asText();
    }

    static String token(KilnServer kiln, String user) {
        return token(kiln, user, "user");
    }

    /** POSTs one file (and text fields) as multipart/form-data, as the admin. */
    static KilnServer.Answer multipart(KilnServer kiln, String path, Map<String, String> fields, String fileField,
                                       String fileName, byte[] content) {
        return multipart(kiln, KilnServer.ADMIN, path, fields, fileField, fileName, content);
    }

    /** POSTs one file (and text fields) as multipart/form-data with this token. */
    static KilnServer.Answer multipart(KilnServer kiln, String token, String path, Map<String, String> fields,
                                       String fileField, String fileName, byte[] content) {
        String boundary = "kiln" + UUID.randomUUID();
        return kiln.send(HttpRequest.newBuilder(kiln.uri(path))
                .header("Authorization", "Bearer " + token)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(multipartBody(boundary, fields, fileField, fileName, content))));
    }

    /** A multipart/form-data body: each text field, then one file part. */
    static byte[] multipartBody(String boundary, Map<String, String> fields, String fileField, String fileName,
                                byte[] content) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (Map.Entry<String, String> f : fields.entrySet()) {
            body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + f.getKey() + "\"\r\n\r\n"
                    + f.getValue() + "\r\n").getBytes(StandardCharsets.UTF_8));
        }
        body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + fileField + "\"; filename=\""
                + fileName + "\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.writeBytes(content);
        body.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return body.toByteArray();
    }

    /** The events of one type ("step", "epoch", ...) that the worker of job {@code id} wrote, in order. */
    static List<JsonNode> engineEvents(Path home, String id, String type) {
        return ResumeChecks.events(home.resolve("jobs").resolve(id)).stream()
                .filter(e -> e.path("event").asText().equals(type)).toList();
    }

    /** Every job id that the list answers, in its order. */
    static List<String> ids(JsonNode list) {
        List<String> out = new ArrayList<>();
        list.get("jobs").forEach(j -> out.add(j.get("id").asText()));
        return out;
    }
}
