package io.kiln.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.client.CliServer.Run;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The kiln command line against a real Kiln service running real CPU jobs: what it prints (the id, the progress,
 * the tables of jobs, metrics and sweeps) is checked against what the API says about the same jobs.
 */
@Timeout(value = 150, unit = TimeUnit.SECONDS)
class KilnCliTest extends WithCliServer {
    Run kiln(String token, String... args) {
        return server.kiln(token, args);
    }

    @Test
    void submitWatchListMetricsAndDownload() throws IOException {
        Run submit = kiln(ADMIN, "submit", server.spec("cli-job", 3, "").toString());
        assertEquals(0, submit.exit(), submit.err());
        String id = submit.lastLine();
        assertTrue(id.matches("\\d+"), "the id alone on the last line: " + submit.out());
        assertTrue(submit.out().startsWith("submitted cli-job as job " + id + " (QUEUED)"), submit.out());

        Run watch = kiln(ADMIN, "watch", id, "--plain", "--interval", "0.2");
        assertEquals(0, watch.exit(), watch.all());
        JsonNode job = server.api("/jobs/" + id);
        assertTrue(watch.out().contains("epoch 3/3") && watch.out().contains("[" + "#".repeat(30) + "] 100%"), watch.out());
        assertTrue(watch.out().contains(String.format(Locale.ROOT, "job %s succeeded, test accuracy %.4f", id,
                job.get("metrics").get("test_acc").asDouble())), watch.out());

        // A job of one epoch as well: its validation accuracy is not its training accuracy (after three, both are 1).
        String quick = kiln(ADMIN, "submit", server.spec("cli-quick", 1, "").toString()).lastLine();
        assertEquals(0, kiln(ADMIN, "watch", quick, "--plain", "--interval", "0.2").exit());

        // The jobs table: a header, then one row per job with the API's figures.
        Run jobs = kiln(ADMIN, "jobs");
        assertEquals(0, jobs.exit(), jobs.all());
        List<String> lines = jobs.out().lines().toList();
        assertEquals(List.of("ID", "NAME", "USER", "STATE", "DEVICE", "PROGRESS", "VAL", "ACC"), List.of(lines.get(0).trim().split("\\s+")));
        for (String[] j : new String[][] {{id, "cli-job", "3/3"}, {quick, "cli-quick", "1/1"}}) {
            String row = lines.stream().filter(l -> l.startsWith(j[0] + " ")).findFirst().orElseThrow(() -> new AssertionError(jobs.out()));
            JsonNode metrics = server.api("/jobs/" + j[0]).get("metrics");
            assertEquals(List.of(j[0], j[1], "admin", "SUCCEEDED", "cpu", "100%", "ep", j[2],
                    String.format(Locale.ROOT, "%.4f", metrics.get("val_acc").asDouble())), List.of(row.trim().split("\\s+")), row);
            assertEquals(lines.get(0).indexOf("STATE"), row.indexOf("SUCCEEDED"), "columns line up:\n" + jobs.out());
            if (j[0].equals(quick)) {
                assertTrue(metrics.get("val_acc").asDouble() != metrics.get("train_acc").asDouble(), metrics.toString());
            }
        }
        assertTrue(lines.indexOf(lines.stream().filter(l -> l.startsWith(quick + " ")).findFirst().orElseThrow())
                < lines.indexOf(lines.stream().filter(l -> l.startsWith(id + " ")).findFirst().orElseThrow()), "newest first");
        Run none = kiln(ADMIN, "jobs", "--state", "FAILED", "--user", "nobody");
        assertEquals("(no jobs)", none.out().lines().toList().get(1), none.out());

        // The metrics table and its CSV: the API's per-epoch figures, rounded in the table, as they are in the CSV.
        JsonNode epochs = server.api("/jobs/" + id + "/metrics").get("epochs");
        Run table = kiln(ADMIN, "metrics", id);
        assertEquals(0, table.exit(), table.all());
        List<String> t = table.out().strip().lines().toList();
        List<String> columns = List.of("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "samples_per_s", "seconds");
        assertEquals(columns, List.of(t.get(0).trim().split("\\s+")));
        assertEquals(4, t.size(), table.out());
        for (int e = 0; e < 3; e++) {
            List<String> cells = List.of(t.get(e + 1).trim().split("\\s+"));
            assertEquals(Integer.toString(e + 1), cells.get(0));
            for (int c = 1; c < columns.size(); c++) {
                assertEquals(String.format(Locale.ROOT, "%.4f", epochs.get(e).get(columns.get(c)).asDouble()), cells.get(c),
                        "epoch " + (e + 1) + " " + columns.get(c));
            }
        }
        Run csv = kiln(ADMIN, "metrics", id, "--csv");
        assertEquals(0, csv.exit());
        List<String> rows = csv.out().strip().lines().toList();
        assertEquals(String.join(",", columns), rows.get(0));
        assertEquals(4, rows.size(), "a header and one row per epoch");
        for (int e = 0; e < 3; e++) {
            List<String> cells = List.of(rows.get(e + 1).split(","));
            for (int c = 0; c < columns.size(); c++) {
                assertEquals(epochs.get(e).get(columns.get(c)).asDouble(), Double.parseDouble(cells.get(c)), rows.get(e + 1));
            }
        }
        JsonNode few = server.api("/jobs/" + id + "/metrics?maxPoints=5").get("steps");
        Run steps = kiln(ADMIN, "metrics", id, "--csv", "--steps", "--max-points", "5");
        List<String> stepRows = steps.out().strip().lines().toList();
        assertEquals("epoch,step,globalStep,loss", stepRows.get(0));
        assertEquals(6, stepRows.size(), steps.out());
        for (int i = 0; i < 5; i++) {
            assertEquals(few.get(i).get("globalStep").asText() + "," + few.get(i).get("loss").asDouble(),
                    stepRows.get(i + 1).substring(stepRows.get(i + 1).indexOf(',', stepRows.get(i + 1).indexOf(',') + 1) + 1));
        }

        Path file = server.home.resolve("weights.kiln");
        Run download = kiln(ADMIN, "download", id, "-o", file.toString());
        assertEquals(0, download.exit(), download.err());
        assertEquals("KILNCKPT", new String(Files.readAllBytes(file), 0, 8, StandardCharsets.US_ASCII));
        assertTrue(download.out().contains("(" + Files.size(file) + " bytes)"), download.out());
        Path onnx = server.home.resolve("model.onnx");
        Run export = kiln(ADMIN, "download", id, "--onnx", "-o", onnx.toString());
        assertEquals(0, export.exit(), export.err());
        assertTrue(export.out().contains("ONNX model") && export.out().contains("(" + Files.size(onnx) + " bytes)"),
                export.out());
        // an ONNX ModelProto opens with field 1 (ir_version) as a varint: the byte 0x08
        assertEquals(0x08, Files.readAllBytes(onnx)[0], "a protobuf ModelProto, not an error page");
        assertTrue(new String(Files.readAllBytes(onnx), StandardCharsets.ISO_8859_1).contains("Gemm"),
                "the MLP's dense layers as Gemm nodes");

        Run show = kiln(ADMIN, "show", id);
        assertTrue(show.out().contains("\"state\" : \"SUCCEEDED\""), show.out());
    }

    @Test
    void watchExitsNonZeroWhenTheJobFails() throws IOException {
        String id = kiln(ADMIN, "submit", server.spec("diverges", 5, "mse none").toString()).lastLine();
        Run watch = kiln(ADMIN, "watch", id, "--plain", "--interval", "0.2");
        assertEquals(1, watch.exit(), watch.all());
        assertTrue(watch.err().contains("job " + id + " failed: ") && watch.err().contains("diverged"), watch.err());
    }

    @Test
    void tokensListsAndRevokeRevokes() {
        String laptop = server.newToken("tom", "laptop").get("token").asText();
        var script = server.newToken("tom", "nightly-script");
        Run list = kiln(laptop, "tokens");
        assertEquals(0, list.exit(), list.err());
        assertTrue(list.out().contains("laptop") && list.out().contains("nightly-script"), list.out());
        assertTrue(list.out().lines().anyMatch(l -> l.startsWith("*") && l.contains("laptop")), "the token in use: " + list.out());
        assertTrue(!list.out().contains(laptop) && !list.out().contains(script.get("token").asText()), "no secret");

        Run revoke = kiln(laptop, "revoke", script.get("id").asText());
        assertEquals(0, revoke.exit(), revoke.err());
        assertTrue(revoke.out().contains("token " + script.get("id").asText() + " of tom revoked"), revoke.out());
        Run refused = kiln(script.get("token").asText(), "jobs");
        assertEquals(1, refused.exit());
        assertTrue(refused.err().contains("HTTP 401") && refused.err().contains("unknown or was revoked"), refused.err());
        assertTrue(!kiln(laptop, "tokens").out().contains("nightly-script"));

        Run others = kiln(laptop, "tokens", "--user", "bob");
        assertEquals(1, others.exit());
        assertTrue(others.err().contains("HTTP 403") && others.err().contains("the tokens of bob are for bob and the admins"),
                others.err());
        Run asAdmin = kiln(ADMIN, "revoke", "--user", "tom", "999999");
        assertEquals(1, asAdmin.exit());
        assertTrue(asAdmin.err().contains("HTTP 404") && asAdmin.err().contains("user tom has no token 999999"), asAdmin.err());
    }

    @Test
    void cancelIsForTheOwner() throws IOException {
        String id = kiln(ADMIN, "submit", server.spec("owned", 5000, "").toString()).lastLine();
        String bob = server.token("bob");
        Run denied = kiln(bob, "cancel", id);
        assertEquals(1, denied.exit());
        assertTrue(denied.err().contains("HTTP 403") && denied.err().contains("belongs to admin"), denied.err());
        Run cancel = kiln(ADMIN, "cancel", id);
        assertEquals(0, cancel.exit(), cancel.err());
        assertTrue(cancel.out().matches("job " + id + ": (RUNNING|CANCELLED)\\s*"), cancel.out());
        Run watch = kiln(ADMIN, "watch", id, "--plain", "--interval", "0.2");
        assertEquals(1, watch.exit(), watch.all());
        assertTrue(watch.err().contains("job " + id + " cancelled"), watch.err());
        Run again = kiln(ADMIN, "cancel", id);
        assertEquals(1, again.exit(), again.all());
        assertTrue(again.err().contains("HTTP 409: job " + id + " has already ended (CANCELLED)"), again.err());
    }

    @Test
    void sweepPrintsTheTableWithTheBestPointMarked() throws IOException {
        Path sweep = server.home.resolve("sweep.json");
        Files.writeString(sweep, "{\"name\":\"units\",\"base\":" + Files.readString(server.spec("base", 2, ""))
                + ",\"grid\":{\"model.layers[1].units\":[4,16]}}");
        Run r = kiln(ADMIN, "sweep", sweep.toString(), "--interval", "0.5");
        assertEquals(0, r.exit(), r.all());
        String sweepId = r.lastLine();
        JsonNode api = server.api("/sweeps/" + sweepId);
        assertEquals("SUCCEEDED", api.get("state").asText());
        List<String> lines = r.out().lines().toList();
        assertTrue(lines.contains("sweep " + sweepId + ": SUCCEEDED"), r.out());
        String bestJob = api.get("best").get("jobId").asText();
        for (JsonNode p : api.get("points")) {
            String jobId = p.get("jobId").asText();
            String row = lines.stream().filter(l -> l.length() > 2 && l.substring(2).startsWith("units=")
                    && List.of(l.substring(2).trim().split("\\s+")).get(1).equals(jobId)).findFirst()
                    .orElseThrow(() -> new AssertionError("no row for job " + jobId + ":\n" + r.out()));
            List<String> cells = List.of(row.substring(2).trim().split("\\s+"));
            assertEquals(List.of("units=" + p.get("values").get("model.layers[1].units").asText(), jobId, "SUCCEEDED",
                    String.format(Locale.ROOT, "%.4f", p.get("bestValAcc").asDouble()), p.get("bestEpoch").asText(),
                    String.format(Locale.ROOT, "%.4f", p.get("testAcc").asDouble()),
                    String.format(Locale.ROOT, "%.1f", p.get("seconds").asDouble())), cells, row);
            assertEquals(jobId.equals(bestJob), row.startsWith("* "), "only the best point is marked: " + row);
        }
        assertTrue(lines.contains("best: units=" + api.get("best").get("values").get("model.layers[1].units").asText()
                + " (job " + bestJob + ")"), r.out());
    }

    @Test
    void aRetrainedSweepAsCsvThenTheSweepsList() throws IOException {
        Path sweep = server.home.resolve("retrain-sweep.json");
        Files.writeString(sweep, "{\"name\":\"hidden\",\"base\":" + Files.readString(server.spec("hidden", 2, ""))
                + ",\"grid\":{\"model.layers[1].units\":[4,16]},\"retrain\":true}");
        Run r = kiln(ADMIN, "sweep", sweep.toString(), "--csv", "--interval", "0.5");
        assertEquals(0, r.exit(), r.all());
        // stdout is the CSV alone, for `> results.csv`; the note of the submission is on stderr.
        assertTrue(r.err().matches("(?s)submitted sweep \\d+ with 2 points, then the retraining of the best.*"), r.err());
        String sweepId = r.err().replaceAll("(?s)submitted sweep (\\d+) .*", "$1");
        JsonNode api = server.api("/sweeps/" + sweepId);
        JsonNode retrained = api.get("retrained");
        assertTrue(retrained.isObject(), api.toString());
        List<String> lines = r.out().strip().lines().toList();
        assertEquals("model.layers[1].units,best_val_acc,best_epoch,test_acc,seconds,epochs,state,job_id,role", lines.get(0));
        assertEquals(4, lines.size(), r.out());
        assertTrue(lines.get(3).endsWith(",SUCCEEDED," + retrained.get("jobId").asText() + ",retrained"), lines.get(3));
        assertTrue(lines.get(3).contains("," + retrained.get("testAcc").asDouble() + ","), lines.get(3));

        Run table = kiln(ADMIN, "sweep", "--id", sweepId);
        assertEquals(0, table.exit(), table.all());
        assertTrue(table.out().contains(String.format(Locale.ROOT, "test acc %.4f (job %s, SUCCEEDED)",
                retrained.get("testAcc").asDouble(), retrained.get("jobId").asText())), table.out());

        Run list = kiln(ADMIN, "sweeps");
        assertEquals(0, list.exit(), list.all());
        String row = list.out().lines().filter(l -> l.startsWith(sweepId + " ")).findFirst()
                .orElseThrow(() -> new AssertionError(list.out()));
        List<String> cells = List.of(row.trim().split("\\s+"));
        assertEquals(List.of(sweepId, "hidden", "admin", "SUCCEEDED", "2",
                "units=" + api.get("best").get("values").get("model.layers[1].units").asText(),
                String.format(Locale.ROOT, "%.4f", api.get("best").get("bestValAcc").asDouble()),
                String.format(Locale.ROOT, "%.4f", retrained.get("testAcc").asDouble())), cells.subList(0, 8), row);
    }

    @Test
    void severalJobsMetricsTheReportAndPredictions() throws IOException {
        String a = kiln(ADMIN, "submit", server.spec("first", 2, "").toString()).lastLine();
        String b = kiln(ADMIN, "submit", server.spec("second", 3, "").toString()).lastLine();
        assertEquals(0, kiln(ADMIN, "watch", b, "--plain", "--interval", "0.3").exit());
        assertEquals(0, kiln(ADMIN, "watch", a, "--plain", "--interval", "0.3").exit());
        Run csv = kiln(ADMIN, "metrics", a, b, "--csv");
        assertEquals(0, csv.exit(), csv.all());
        List<String> rows = csv.out().strip().lines().toList();
        assertEquals("job_id,job_name,epoch,train_loss,train_acc,val_loss,val_acc,samples_per_s,seconds,lr", rows.get(0));
        assertEquals(1 + 2 + 3, rows.size(), csv.out());
        JsonNode epochsOfB = server.api("/jobs/" + b + "/metrics").get("epochs");
        assertTrue(rows.get(5).startsWith(b + ",second,3," + epochsOfB.get(2).get("train_loss").asDouble() + ","), rows.get(5));
        Run tables = kiln(ADMIN, "metrics", a, b);
        assertEquals(0, tables.exit(), tables.all());
        assertTrue(tables.out().contains("job " + a + " (first)") && tables.out().contains("job " + b + " (second)"), tables.out());
        Run steps = kiln(ADMIN, "metrics", a, b, "--steps");
        assertEquals(2, steps.exit(), steps.all());

        Path report = server.home.resolve("report.html");
        Run saved = kiln(ADMIN, "report", a, "-o", report.toString(), "--images", "3");
        assertEquals(0, saved.exit(), saved.all());
        String html = Files.readString(report, StandardCharsets.UTF_8);
        // The server rounds the image count up to one of kiln.report-sizes; each image shown has its score table.
        java.util.regex.Matcher first = java.util.regex.Pattern.compile("The first (\\d+) test images").matcher(html);
        assertTrue(first.find() && Integer.parseInt(first.group(1)) >= 3, "the report says how many it shows");
        assertEquals(Integer.parseInt(first.group(1)), html.split("<table class=\"scores\">", -1).length - 1);
        assertTrue(html.contains("Confusion matrix"), "the confusion matrix stays");

        // A blank image: whatever its class, the answer has every class's score.
        java.awt.image.BufferedImage img = new java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
        Path png = server.home.resolve("digit.png");
        javax.imageio.ImageIO.write(img, "png", png.toFile());
        Run predict = kiln(ADMIN, "predict", a, png.toString(), "--json");
        assertEquals(0, predict.exit(), predict.all());
        JsonNode p = new com.fasterxml.jackson.databind.ObjectMapper().readTree(predict.out()).get("predictions").get(0);
        assertEquals("digit.png", p.get("image").asText());
        assertEquals(4, p.get("scores").size(), "every class's score: " + p);
        Run line = kiln(ADMIN, "predict", a, png.toString());
        assertEquals(0, line.exit(), line.all());
        assertTrue(line.out().startsWith("digit.png: " + p.get("class").asText() + " |"), line.out());
        Run missing = kiln(ADMIN, "predict", a, "/nonexistent.png");
        assertEquals(2, missing.exit(), missing.all());
        assertTrue(missing.err().contains("image not found: /nonexistent.png"), missing.err());
    }
}
