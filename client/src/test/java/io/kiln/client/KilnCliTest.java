package io.kiln.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.client.cli.KilnCli;
import io.kiln.engine.data.SyntheticData;
import io.kiln.service.config.DatabaseSettings;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The kiln command line against a real Kiln service running real CPU jobs. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KilnCliTest {
    static final String ADMIN = "cli-admin-token";
    EmbeddedServer server;
    Path home;
    String url;

    @BeforeAll
    void start() throws IOException {
        home = Files.createTempDirectory("kiln-cli-test");
        SyntheticData.writeIdx(home.resolve("data"), "tiny", 600, 200, 4, 8, 5);
        Map<String, Object> p = new HashMap<>(DatabaseSettings.forUrl(null, home));
        p.put("micronaut.server.port", -1);
        p.put("kiln.home", home.toString());
        p.put("kiln.data-root", home.resolve("data").toString());
        p.put("kiln.admin-token", ADMIN);
        p.put("kiln.worker-heap", "256m");
        p.put("kiln.cancel-grace", "3s");
        server = ApplicationContext.run(EmbeddedServer.class, p);
        url = "http://localhost:" + server.getPort();
    }

    @AfterAll
    void stop() {
        server.close();
    }

    record Run(int exit, String out, String err) {
        String lastLine() {
            List<String> lines = out.strip().lines().toList();
            return lines.get(lines.size() - 1);
        }
    }

    Run kiln(String token, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        String[] all = new String[args.length + 4];
        all[0] = "--server";
        all[1] = url;
        all[2] = "--token";
        all[3] = token == null ? "" : token;
        System.arraycopy(args, 0, all, 4, args.length);
        int exit = KilnCli.run(new PrintWriter(out, true), new PrintWriter(err, true), all);
        return new Run(exit, out.toString(), err.toString());
    }

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

    @Test
    void submitWatchListMetricsAndDownload() throws IOException {
        Run submit = kiln(ADMIN, "submit", spec("cli-job", 3, "").toString());
        assertEquals(0, submit.exit(), submit.err());
        String id = submit.lastLine();
        assertTrue(id.matches("\\d+"), "the id alone on the last line: " + submit.out());

        Run watch = kiln(ADMIN, "watch", id, "--plain", "--interval", "0.2");
        assertEquals(0, watch.exit(), watch.out() + watch.err());
        assertTrue(watch.out().contains("epoch 3/3") && watch.out().contains("#"), watch.out());
        assertTrue(watch.out().contains("job " + id + " succeeded, test accuracy"), watch.out());

        Run jobs = kiln(ADMIN, "jobs");
        assertTrue(jobs.out().lines().anyMatch(l -> l.startsWith(id + " ") && l.contains("SUCCEEDED")), jobs.out());

        Run csv = kiln(ADMIN, "metrics", id, "--csv");
        assertEquals(0, csv.exit());
        List<String> rows = csv.out().strip().lines().toList();
        assertEquals("epoch,train_loss,train_acc,val_loss,val_acc,samples_per_s,seconds", rows.get(0));
        assertEquals(4, rows.size(), "a header and one row per epoch");
        assertTrue(rows.get(3).startsWith("3,"));
        Run steps = kiln(ADMIN, "metrics", id, "--csv", "--steps", "--max-points", "5");
        assertEquals(6, steps.out().strip().lines().count(), steps.out());

        Path file = home.resolve("weights.kiln");
        Run download = kiln(ADMIN, "download", id, "-o", file.toString());
        assertEquals(0, download.exit(), download.err());
        assertEquals("KILNCKPT", new String(Files.readAllBytes(file), 0, 8, java.nio.charset.StandardCharsets.US_ASCII));

        Run show = kiln(ADMIN, "show", id);
        assertTrue(show.out().contains("\"state\" : \"SUCCEEDED\""), show.out());
    }

    @Test
    void watchExitsNonZeroWhenTheJobFails() throws IOException {
        String id = kiln(ADMIN, "submit", spec("diverges", 5, "mse none").toString()).lastLine();
        Run watch = kiln(ADMIN, "watch", id, "--plain", "--interval", "0.2");
        assertEquals(1, watch.exit(), watch.out());
        assertTrue(watch.err().contains("failed") && watch.err().contains("diverged"), watch.err());
    }

    @Test
    void refusalsAreExplained() throws IOException {
        Run noToken = kiln(null, "jobs");
        assertEquals(1, noToken.exit(), noToken.err());
        assertTrue(noToken.err().contains("HTTP 401") && noToken.err().contains("KILN_TOKEN"), noToken.err());

        Path bad = home.resolve("bad.json");
        Files.writeString(bad, Files.readString(spec("bad", 1, "")).replace("\"units\":16", "\"units\":0"));
        Run refused = kiln(ADMIN, "submit", bad.toString());
        assertEquals(1, refused.exit());
        assertTrue(refused.err().contains("HTTP 400") && refused.err().contains("model.layers[1].units"), refused.err());

        Run missing = kiln(ADMIN, "submit", home.resolve("nope.json").toString());
        assertEquals(2, missing.exit());
        assertTrue(missing.err().contains("spec file not found"), missing.err());

        Run down = new KilnCliTest.Run(KilnCli.run(new PrintWriter(new StringWriter()), new PrintWriter(new StringWriter()),
                "--server", "http://127.0.0.1:9", "jobs"), "", "");
        assertEquals(3, down.exit(), "an unreachable server is exit 3");
    }

    @Test
    void cancelIsForTheOwner() throws IOException {
        String id = kiln(ADMIN, "submit", spec("owned", 5000, "").toString()).lastLine();
        var http = java.net.http.HttpClient.newBuilder().version(java.net.http.HttpClient.Version.HTTP_1_1).build();
        String bob;
        try {
            http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url + "/api/v1/users"))
                    .header("Authorization", "Bearer " + ADMIN).header("Content-Type", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"name\":\"bob\"}")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            String t = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(url + "/api/v1/users/bob/tokens"))
                    .header("Authorization", "Bearer " + ADMIN).header("Content-Type", "application/json")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString("{}")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            bob = new com.fasterxml.jackson.databind.ObjectMapper().readTree(t).get("token").asText();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        Run denied = kiln(bob, "cancel", id);
        assertEquals(1, denied.exit());
        assertTrue(denied.err().contains("HTTP 403"), denied.err());
        Run cancel = kiln(ADMIN, "cancel", id);
        assertEquals(0, cancel.exit(), cancel.err());
        Run watch = kiln(ADMIN, "watch", id, "--plain", "--interval", "0.2");
        assertEquals(1, watch.exit());
        assertTrue(watch.err().contains("cancelled"), watch.err());
    }

    @Test
    void sweepPrintsTheTableWithTheBestPointMarked() throws IOException {
        Path sweep = home.resolve("sweep.json");
        Files.writeString(sweep, "{\"name\":\"units\",\"base\":" + Files.readString(spec("base", 2, ""))
                + ",\"grid\":{\"model.layers[1].units\":[4,16]}}");
        Run r = kiln(ADMIN, "sweep", sweep.toString(), "--interval", "0.5");
        assertEquals(0, r.exit(), r.out() + r.err());
        assertTrue(r.out().contains("units=4") && r.out().contains("units=16"), r.out());
        assertEquals(1, r.out().lines().filter(l -> l.startsWith("* ")).count(), "one best point: " + r.out());
        assertTrue(r.out().contains("best: units=") , r.out());
    }
}
