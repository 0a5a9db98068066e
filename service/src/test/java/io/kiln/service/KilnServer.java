package io.kiln.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kiln.service.config.DatabaseSettings;
import io.kiln.service.devices.FakeGpuDiscovery;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A real Kiln server for tests: an embedded Micronaut server on a random port with its own KILN_HOME, data
 * root and database, spoken to over real HTTP. Two instances given the same database URL share one queue.
 */
public final class KilnServer implements AutoCloseable {
    public static final String ADMIN = "test-admin-token";
    static final ObjectMapper JSON = new ObjectMapper();
    private final EmbeddedServer server;
    private final boolean owned;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    /** Speaks to a server someone else started (a {@code @MicronautTest}'s). */
    public KilnServer(EmbeddedServer server) {
        this.server = server;
        this.owned = false;
    }

    /**
     * Test properties for a server with this home, data root and database (null: H2 in the home). The CPU slot is
     * on whatever the machine has: the tests run CPU jobs, which on a machine with a GPU would otherwise wait for
     * a CPU slot that is not there.
     */
    public static Map<String, Object> properties(Path home, Path dataRoot, String dbUrl) {
        Map<String, Object> p = new HashMap<>(DatabaseSettings.forUrl(dbUrl, home));
        p.put("micronaut.server.port", -1);
        p.put("kiln.home", home.toString());
        p.put("kiln.data-root", dataRoot.toString());
        p.put("kiln.admin-token", ADMIN);
        p.put("kiln.worker-heap", "256m");
        p.put("kiln.cancel-grace", "3s");
        p.put("kiln.cpu-slot", "on");
        return p;
    }

    /**
     * The property that gives a server fake GPUs in place of the machine's ({@link FakeGpuDiscovery}), each
     * {@code "NAME:BYTES"}.
     */
    public static Map<String, Object> fakeGpus(String... gpus) {
        return Map.of(FakeGpuDiscovery.PROPERTY, String.join(",", gpus));
    }

    /**
     * Starts a server of its own in a new temporary home ({@code prefix} names it) with H2, its data root holding
     * the generated set "tiny" of {@code train} and {@code test} images of 4 classes.
     */
    public static KilnServer onTinyData(String prefix, int train, int test, Map<String, Object> extra) throws IOException {
        Path home = Files.createTempDirectory(prefix);
        TestData.write(home.resolve("data"), "tiny", train, test, 4);
        return new KilnServer(home, home.resolve("data"), null, extra);
    }

    /** Starts a server of its own in a new temporary home with H2 and an empty data root, for uploads to fill. */
    public static KilnServer onEmptyData(String prefix, Map<String, Object> extra) throws IOException {
        Path home = Files.createTempDirectory(prefix);
        return new KilnServer(home, Files.createDirectories(home.resolve("data")), null, extra);
    }

    /** Starts a server of its own. */
    public KilnServer(Path home, Path dataRoot, String dbUrl, Map<String, Object> extra) {
        Map<String, Object> p = properties(home, dataRoot, dbUrl);
        p.putAll(extra);
        server = ApplicationContext.run(EmbeddedServer.class, p);
        owned = true;
    }

    /** The server's home ({@code kiln.home}): its database, job folders and uploaded models. */
    public Path home() {
        return Path.of(server.getEnvironment().getRequiredProperty("kiln.home", String.class));
    }

    /** Its data root ({@code kiln.data-root}), where datasets are. */
    public Path dataRoot() {
        return Path.of(server.getEnvironment().getRequiredProperty("kiln.data-root", String.class));
    }

    public ApplicationContext context() {
        return server.getApplicationContext();
    }

    public URI uri(String path) {
        return URI.create("http://localhost:" + server.getPort() + path);
    }

    public record Answer(int status, String body) {
        public JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON: " + body, e);
            }
        }
    }

    public Answer send(String method, String path, String token, String body) {
        return send(http, uri(path), method, token, body);
    }

    /** One request, bounded in time, as a test sends it: a JSON body, the bearer token when there is one. */
    static Answer send(HttpClient http, URI uri, String method, String token, String body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        return send(http, b);
    }

    /** A request built by the caller (a multipart upload, say), sent to this server bounded in time. */
    public Answer send(HttpRequest.Builder request) {
        return send(http, request);
    }

    private static Answer send(HttpClient http, HttpRequest.Builder request) {
        HttpRequest r = request.timeout(Duration.ofSeconds(60)).build();
        try {
            HttpResponse<String> answer = http.send(r, HttpResponse.BodyHandlers.ofString());
            return new Answer(answer.statusCode(), answer.body());
        } catch (IOException e) {
            throw new AssertionError(r.method() + " " + r.uri() + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    public int port() {
        return server.getPort();
    }

    public Answer get(String path, String token) {
        return send("GET", path, token, null);
    }

    public Answer post(String path, String token, String body) {
        return send("POST", path, token, body);
    }

    public Answer patch(String path, String token, String body) {
        return send("PATCH", path, token, body);
    }

    public Answer delete(String path, String token) {
        return send("DELETE", path, token, null);
    }

    /** The bytes a GET answers with this token (a checkpoint, an ONNX model), asserting 200; bounded in time. */
    public byte[] download(String path, String token) {
        try {
            HttpResponse<byte[]> a = http.send(HttpRequest.newBuilder(uri(path)).header("Authorization", "Bearer " + token)
                    .timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofByteArray());
            if (a.statusCode() != 200) {
                throw new AssertionError("GET " + path + " answered " + a.statusCode() + ": "
                        + new String(a.body(), java.nio.charset.StandardCharsets.UTF_8));
            }
            return a.body();
        } catch (IOException e) {
            throw new AssertionError("GET " + path + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** A request built by the test (any header, any body), answered with its headers; bounded in time. */
    public HttpResponse<String> exchange(HttpRequest.Builder request) {
        try {
            return http.send(request.timeout(Duration.ofSeconds(60)).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Creates a user (as the admin; one that exists already is kept) and returns a fresh token of theirs. */
    public String user(String name, String role) {
        Answer u = post("/api/v1/users", ADMIN, "{\"name\":\"" + name + "\",\"role\":\"" + role + "\"}");
        if (u.status() != 201 && u.status() != 409) {
            throw new AssertionError("creating user " + name + " answered " + u.status() + ": " + u.body());
        }
        Answer t = post("/api/v1/users/" + name + "/tokens", ADMIN, "{}");
        if (t.status() != 201) {
            throw new AssertionError("a token for " + name + " answered " + t.status() + ": " + t.body());
        }
        return t.json().get("token").asText();
    }

    /** Submits a spec as the admin and returns the new job's id. */
    public String submit(String spec) {
        return submit(spec, ADMIN);
    }

    public String submit(String spec, String token) {
        Answer a = post("/api/v1/jobs", token, spec);
        if (a.status() != 201) {
            throw new AssertionError("submit answered " + a.status() + ": " + a.body());
        }
        return a.json().get("id").asText();
    }

    /** Polls a job until the condition holds; fails with the job's last state after the timeout. */
    public JsonNode awaitJob(String id, Predicate<JsonNode> condition, Duration timeout) {
        return Polling.await(() -> get("/api/v1/jobs/" + id, ADMIN).json(), condition, timeout,
                job -> "job " + id + " did not get there in " + timeout + "; last seen: " + job
                        + "\nlog:\n" + get("/api/v1/jobs/" + id + "/log", ADMIN).body());
    }

    /** Polls a sweep until it has ended (neither queued nor running); fails with its last state after the timeout. */
    public JsonNode awaitSweepEnd(String id, Duration timeout) {
        return Polling.await(() -> get("/api/v1/sweeps/" + id, ADMIN).json(),
                s -> !s.get("state").asText().matches("QUEUED|RUNNING"), timeout,
                sweep -> "sweep " + id + " did not end in " + timeout + "; last seen: " + sweep);
    }

    /** A job that is running and has reported at least {@code epochs} epochs, as {@link #awaitJob} waits for one. */
    public static Predicate<JsonNode> runningWithEpoch(int epochs) {
        return j -> j.path("state").asText().equals("RUNNING") && j.path("progress").path("epoch").asInt() >= epochs;
    }

    public JsonNode awaitState(String id, String state, Duration timeout) {
        return awaitJob(id, j -> j.path("state").asText().equals(state), timeout);
    }

    @Override
    public void close() {
        if (owned) {
            server.close();
        }
    }
}
