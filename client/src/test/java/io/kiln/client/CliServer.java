package io.kiln.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kiln.client.cli.KilnCli;
import io.kiln.engine.data.SyntheticData;
import io.kiln.service.config.DatabaseSettings;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real Kiln service in this JVM (random port, its own home and H2 database, a CPU slot even where there are
 * GPUs, a small generated dataset "tiny") for the command line to talk to, and a way to run the command line
 * against it with a bound on its time: a {@code watch} or {@code sweep} whose job never ends fails the test
 * with what it printed so far instead of blocking it.
 */
final class CliServer implements AutoCloseable {
    static final String ADMIN = "cli-admin-token";
    static final Duration COMMAND_LIMIT = Duration.ofSeconds(90);
    private static final ObjectMapper JSON = new ObjectMapper();
    final Path home;
    final String url;
    private final EmbeddedServer server;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    CliServer(String name) throws IOException {
        home = Files.createTempDirectory(name);
        SyntheticData.writeIdx(home.resolve("data"), "tiny", 600, 200, 4, 8, 5);
        Map<String, Object> p = new HashMap<>(DatabaseSettings.forUrl(null, home));
        p.put("micronaut.server.port", -1);
        p.put("kiln.home", home.toString());
        p.put("kiln.data-root", home.resolve("data").toString());
        p.put("kiln.admin-token", ADMIN);
        p.put("kiln.worker-heap", "256m");
        p.put("kiln.cancel-grace", "3s");
        p.put("kiln.cpu-slot", "on");
        server = ApplicationContext.run(EmbeddedServer.class, p);
        url = "http://localhost:" + server.getPort();
    }

    record Run(int exit, String out, String err) {
        String lastLine() {
            List<String> lines = out.strip().lines().toList();
            return lines.get(lines.size() - 1);
        }

        /** Output and errors, for assertion messages. */
        String all() {
            return "exit " + exit + "\n--- out:\n" + out + "--- err:\n" + err;
        }
    }

    /** {@code kiln --server URL --token T ARGS...} against this server. */
    Run kiln(String token, String... args) {
        String[] all = new String[args.length + 4];
        all[0] = "--server";
        all[1] = url;
        all[2] = "--token";
        all[3] = token == null ? "" : token;
        System.arraycopy(args, 0, all, 4, args.length);
        return run(COMMAND_LIMIT, all);
    }

    /** The command line with exactly these arguments, stopped (interrupted) and failed after {@code limit}. */
    static Run run(Duration limit, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        FutureTask<Integer> task = new FutureTask<>(() -> KilnCli.run(new PrintWriter(out, true), new PrintWriter(err, true), args));
        Thread t = new Thread(task, "kiln-cli " + String.join(" ", args));
        t.setDaemon(true);
        t.start();
        try {
            return new Run(task.get(limit.toMillis(), TimeUnit.MILLISECONDS), out.toString(), err.toString());
        } catch (TimeoutException e) {
            task.cancel(true);
            throw new AssertionError("kiln " + String.join(" ", args) + " did not end within " + limit + "\n--- out:\n" + out
                    + "--- err:\n" + err);
        } catch (ExecutionException e) {
            throw new AssertionError("kiln " + String.join(" ", args) + " threw", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            task.cancel(true);
            throw new AssertionError(e);
        }
    }

    /** A path of the REST API as the admin, as JSON (to compare what the command line prints with). */
    JsonNode api(String path) {
        try {
            return JSON.readTree(send(HttpRequest.newBuilder(URI.create(url + "/api/v1" + path)).GET()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Creates a user (as the admin) and returns a fresh token of theirs. */
    String token(String user) {
        try {
            post("/api/v1/users", "{\"name\":\"" + user + "\"}");
            return JSON.readTree(post("/api/v1/users/" + user + "/tokens", "{}")).get("token").asText();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Creates a user (as the admin; one that exists is kept) and a token with this label: the answer, id and secret. */
    JsonNode newToken(String user, String label) {
        try {
            post("/api/v1/users", "{\"name\":\"" + user + "\"}");
            return JSON.readTree(post("/api/v1/users/" + user + "/tokens", "{\"label\":\"" + label + "\"}"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private String post(String path, String body) {
        return send(HttpRequest.newBuilder(URI.create(url + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    /** One request as the admin, bounded in time; its body. */
    private String send(HttpRequest.Builder request) {
        try {
            return http.send(request.header("Authorization", "Bearer " + ADMIN).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** A job spec file for the tiny data: a small MLP trained for {@code epochs} epochs ("mse none": one that diverges). */
    Path spec(String name, int epochs, String extra) throws IOException {
        Path f = home.resolve(name + ".json");
        Files.writeString(f, """
                {"name":"%s","data":{"name":"tiny","validationSplit":0.2%s},
                 "model":{"layers":[{"type":"flatten"},{"type":"dense","units":16},{"type":"relu"},{"type":"dense","units":4}]},
                 "optimizer":{"type":"sgd","lr":LR,"momentum":0.9},"training":{"epochs":%d,"batchSize":32},"device":"cpu"%s}"""
                .formatted(name, extra.contains("none") ? ",\"normalize\":\"none\"" : "", epochs,
                        extra.contains("mse") ? ",\"loss\":\"mse\"" : "")
                .replace("LR", extra.contains("mse") ? "90" : "0.05"));
        return f;
    }

    @Override
    public void close() {
        server.close();
    }
}
