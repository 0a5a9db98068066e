package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The service as a process of its own, started the way a user starts the jar (environment variables, no test
 * properties) on this test's class path, spoken to over HTTP, and killable for real.
 */
final class ServiceProcess implements AutoCloseable {
    static final Duration TIMEOUT = Duration.ofSeconds(120);
    static final String TOKEN = "process-admin";

    private final Process process;
    private final Path log;
    private final int port;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    /**
     * Starts the service with these environment variables (KILN_ADMIN_TOKEN and MICRONAUT_SERVER_PORT are set
     * here; the test JVM's KILN_* are not inherited) and system properties, in {@code workDir}, its output
     * appended to {@code log}; returns once it answers /health.
     */
    static ServiceProcess start(Map<String, String> env, List<String> properties, Path workDir, Path log) throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // The CPU slot is on as the boolean it once was (true), which must still be accepted: the tests run CPU
        // jobs, which on a machine with a GPU would otherwise wait for a CPU slot that is not there.
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                "-Dkiln.worker-heap=256m", "-Dkiln.cancel-grace=2s", "-Dkiln.cpu-slot=true"));
        cmd.addAll(properties);
        cmd.add(Application.class.getName());
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("KILN_"));
        pb.environment().putAll(env);
        pb.environment().put("KILN_ADMIN_TOKEN", TOKEN);
        pb.environment().put("MICRONAUT_SERVER_PORT", Integer.toString(port));
        pb.redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Process process = pb.start();
        // Whatever happens to the test, the service and its workers do not outlive the test JVM.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }));
        ServiceProcess s = new ServiceProcess(process, log, port);
        try {
            s.awaitUp();
        } catch (Exception | AssertionError e) {
            s.kill();
            throw e;
        }
        return s;
    }

    private ServiceProcess(Process process, Path log, int port) {
        this.process = process;
        this.log = log;
        this.port = port;
    }

    private void awaitUp() throws Exception {
        long end = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < end) {
            assertTrue(process.isAlive(), () -> "the service exited:\n" + logTail());
            try {
                if (http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/health"))
                        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(250);
        }
        process.destroyForcibly();
        throw new AssertionError("the service did not start:\n" + logTail());
    }

    String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** The service's only child processes are its workers (a long class path hides their arguments from Java). */
    ProcessHandle onlyWorker() {
        List<ProcessHandle> workers = process.children().toList();
        assertEquals(1, workers.size(), "one worker process under the service");
        return workers.get(0);
    }

    /** SIGKILL, as a crash or the OOM killer would: nothing of the service runs after it. */
    void kill() throws InterruptedException {
        assertTrue(process.destroyForcibly().waitFor(30, TimeUnit.SECONDS), "the killed service is gone");
    }

    /** Sends a signal ({@code STOP}, {@code CONT}, ...) to a process. */
    static void signal(ProcessHandle target, String signal) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(target.pid())).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(kill.waitFor(30, TimeUnit.SECONDS), "kill -" + signal + " returned");
        assertEquals(0, kill.exitValue(), "kill -" + signal + " " + target.pid());
    }

    /** Stops the service gracefully (it stops its workers), forcibly if it takes too long. */
    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }

    KilnServer.Answer get(String path) {
        return send("GET", path, null);
    }

    KilnServer.Answer post(String path, String body) {
        return send("POST", path, body);
    }

    /** Without a token. */
    KilnServer.Answer getAnonymous(String path) {
        return send("GET", path, null, null);
    }

    private KilnServer.Answer send(String method, String path, String body) {
        return send(method, path, body, TOKEN);
    }

    private KilnServer.Answer send(String method, String path, String body, String token) {
        return KilnServer.send(http, URI.create("http://localhost:" + port + path), method, token, body);
    }

    String submit(String spec) {
        KilnServer.Answer a = post("/api/v1/jobs", spec);
        assertEquals(201, a.status(), a.body());
        return a.json().get("id").asText();
    }

    JsonNode await(String id, Predicate<JsonNode> condition) {
        return Polling.await(() -> get("/api/v1/jobs/" + id).json(), condition, TIMEOUT,
                job -> "job " + id + " did not get there in " + TIMEOUT + "; last seen: " + job
                        + "\nlog:\n" + get("/api/v1/jobs/" + id + "/log").body());
    }

    JsonNode awaitState(String id, String state) {
        return await(id, j -> j.path("state").asText().equals(state));
    }
}
