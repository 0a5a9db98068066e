package io.kiln.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * A small client of Kiln's REST API ({@code /api/v1}, bearer token). Answers are JSON trees, so the client
 * keeps working when the service adds fields. Every non-2xx answer becomes a {@link KilnException} carrying the
 * status and the service's message.
 */
public final class KilnClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final URI base;
    private final String token;
    private final HttpClient http;

    public KilnClient(String server, String token) {
        String s = server.endsWith("/") ? server.substring(0, server.length() - 1) : server;
        this.base = URI.create(s + "/api/v1");
        this.token = token;
        // HTTP/1.1: the JDK client would otherwise try an h2c upgrade, which the service does not speak.
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** Submits a job spec (JSON text); returns the created job. */
    public JsonNode submit(String specJson) {
        return send(request("/jobs").POST(HttpRequest.BodyPublishers.ofString(specJson))
                .header("Content-Type", "application/json"));
    }

    /** Lists jobs, newest first; null filters are left out. */
    public JsonNode jobs(String state, String user, Integer page, Integer size) {
        Map<String, Object> q = new LinkedHashMap<>();
        q.put("state", state);
        q.put("user", user);
        q.put("page", page);
        q.put("size", size);
        return send(request("/jobs" + query(q)).GET());
    }

    public JsonNode job(String id) {
        return send(request("/jobs/" + enc(id)).GET());
    }

    public JsonNode cancel(String id) {
        return send(request("/jobs/" + enc(id) + "/cancel").POST(HttpRequest.BodyPublishers.noBody()));
    }

    public JsonNode metrics(String id, Integer maxPoints) {
        return send(request("/jobs/" + enc(id) + "/metrics" + query(Map.of("maxPoints", maxPoints == null ? "" : maxPoints))).GET());
    }

    public String log(String id) {
        return sendText(request("/jobs/" + enc(id) + "/log").GET());
    }

    /**
     * Saves the job's checkpoint to {@code file}; returns its size in bytes.
     *
     * @throws java.io.UncheckedIOException when the file cannot be written
     */
    public long downloadCheckpoint(String id, Path file) {
        return download("/jobs/" + enc(id) + "/checkpoint", "checkpoint", file);
    }

    /**
     * Saves the job's trained model as ONNX to {@code file}; returns its size in bytes.
     *
     * @throws java.io.UncheckedIOException when the file cannot be written
     */
    public long downloadOnnx(String id, Path file) {
        return download("/jobs/" + enc(id) + "/onnx", "ONNX model", file);
    }

    private long download(String path, String what, Path file) {
        HttpResponse<InputStream> r = exchange(request(path)
                .setHeader("Accept", "application/octet-stream, application/json").GET(), HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream in = r.body()) {
            if (r.statusCode() / 100 != 2) {
                throw error(r.statusCode(), new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
            Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), ".kiln-download", ".tmp");
            try {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            } finally {
                Files.deleteIfExists(tmp);
            }
            return Files.size(file);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new java.io.UncheckedIOException("cannot save the " + what + " to " + file + ": its folder does not exist", e);
        } catch (IOException e) {
            // A local file problem, not an unreachable server (a KilnException of status 0).
            throw new java.io.UncheckedIOException("cannot save the " + what + " to " + file + ": " + e.getMessage(), e);
        }
    }

    public JsonNode submitSweep(String sweepJson) {
        return send(request("/sweeps").POST(HttpRequest.BodyPublishers.ofString(sweepJson))
                .header("Content-Type", "application/json"));
    }

    public JsonNode sweep(String id) {
        return send(request("/sweeps/" + enc(id)).GET());
    }

    /** Lists sweeps, newest first, without their points; null filters are left out. */
    public JsonNode sweeps(String user, Integer page, Integer size) {
        Map<String, Object> q = new LinkedHashMap<>();
        q.put("user", user);
        q.put("page", page);
        q.put("size", size);
        return send(request("/sweeps" + query(q)).GET());
    }

    /** A sweep's summary as CSV: a column per swept parameter, then the figures; a row per point and the retraining. */
    public String sweepCsv(String id) {
        return sendText(request("/sweeps/" + enc(id) + "?format=csv").setHeader("Accept", "text/csv, application/json").GET());
    }

    /** The per-epoch metrics of several jobs as one CSV table, a row per job and epoch. */
    public String metricsCsv(java.util.List<String> ids) {
        return sendText(request("/metrics?jobs=" + enc(String.join(",", ids)) + "&format=csv")
                .setHeader("Accept", "text/csv, application/json").GET());
    }

    /** The per-epoch metrics of several jobs: {@code {"jobs": [{"jobId", "name", "epochs"}]}}. */
    public JsonNode metrics(java.util.List<String> ids) {
        return send(request("/metrics?jobs=" + enc(String.join(",", ids))).GET());
    }

    /** The job's HTML report with this many test images (null: the service's default). */
    public String report(String id, Integer images) {
        return sendText(request("/jobs/" + enc(id) + "/report" + query(Map.of("images", images == null ? "" : images)))
                .setHeader("Accept", "text/html, application/json").GET());
    }

    /**
     * Classifies image files with the job's trained weights: {@code {"predictions": [{"image", "predicted",
     * "scores", ...}]}}.
     *
     * @throws java.io.UncheckedIOException when an image cannot be read
     */
    public JsonNode predict(String id, java.util.List<Path> images) {
        String boundary = "kiln-" + java.util.UUID.randomUUID();
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        for (Path image : images) {
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(image);
            } catch (java.nio.file.NoSuchFileException e) {
                throw new java.io.UncheckedIOException("image not found: " + image.toAbsolutePath(), e);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("cannot read " + image + ": " + e.getMessage(), e);
            }
            String name = image.getFileName().toString().replace("\"", "_").replace("\r", "_").replace("\n", "_");
            body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"images\"; filename=\"" + name
                    + "\"\r\nContent-Type: application/octet-stream\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            body.writeBytes(bytes);
            body.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        body.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return send(request("/jobs/" + enc(id) + "/predict").header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())));
    }

    public JsonNode devices() {
        return send(request("/devices").GET());
    }

    /** Who the token belongs to, and the token itself (id, label, dates; never its secret). */
    public JsonNode me() {
        return send(request("/me").GET());
    }

    /** The user's tokens (the user themselves or an admin). */
    public JsonNode tokens(String user) {
        return send(request("/users/" + enc(user) + "/tokens").GET());
    }

    /** Revokes one of the user's tokens: it is refused from then on. */
    public void revoke(String user, String tokenId) {
        sendText(request("/users/" + enc(user) + "/tokens/" + enc(tokenId)).DELETE());
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Accept", "application/json");
        if (token != null && !token.isBlank()) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    private JsonNode send(HttpRequest.Builder b) {
        String body = sendText(b);
        try {
            return body.isBlank() ? JSON.createObjectNode() : JSON.readTree(body);
        } catch (IOException e) {
            throw new KilnException(0, "the server's answer is not JSON: " + abbreviate(body));
        }
    }

    private String sendText(HttpRequest.Builder b) {
        HttpResponse<String> r = exchange(b, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw error(r.statusCode(), r.body());
        }
        return r.body();
    }

    private <T> HttpResponse<T> exchange(HttpRequest.Builder b, HttpResponse.BodyHandler<T> handler) {
        HttpRequest req = b.build();
        try {
            return http.send(req, handler);
        } catch (ConnectException e) {
            throw new KilnException(0, "cannot reach the Kiln server at " + base.resolve("/")
                    + " (is it running? set --server or KILN_SERVER)");
        } catch (IOException e) {
            throw new KilnException(0, "request to " + req.uri() + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KilnException(0, "interrupted");
        }
    }

    /** The service's error text: its {@code message} field when the body is JSON, else the body itself. */
    private static KilnException error(int status, String body) {
        String message = body;
        try {
            JsonNode n = JSON.readTree(body);
            if (n != null && n.hasNonNull("message")) {
                message = n.get("message").asText();
                if (n.hasNonNull("field") && !message.startsWith(n.get("field").asText())) {
                    message = n.get("field").asText() + ": " + message;
                }
            } else if (n != null && n.path("_embedded").path("errors").isArray()) {
                message = n.path("_embedded").path("errors").get(0).path("message").asText(message);
            }
        } catch (IOException | RuntimeException ignored) {
            // not JSON: keep the body
        }
        // a 403 says itself why and who may; a 401 may come from a missing token
        String hint = status == 401 ? " (check --token or KILN_TOKEN)" : "";
        return new KilnException(status, "HTTP " + status + ": " + abbreviate(message) + hint);
    }

    private static String abbreviate(String s) {
        s = s == null ? "" : s.strip();
        return s.length() > 500 ? s.substring(0, 497) + "..." : s;
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String query(Map<String, ?> q) {
        String s = q.entrySet().stream().filter(e -> e.getValue() != null && !e.getValue().toString().isEmpty())
                .map(e -> e.getKey() + "=" + enc(e.getValue().toString())).collect(Collectors.joining("&"));
        return s.isEmpty() ? "" : "?" + s;
    }
}
