package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Results a student hands in, over real HTTP: the list of sweeps, a sweep's summary as CSV, the retraining of the
 * best point on training + validation data, several jobs' metrics in one CSV, data.resize and the report's
 * full score lists; on H2 ({@link SweepResultsH2Test}) and on PostgreSQL ({@link SweepResultsPostgresTest}), whose
 * store runs the retraining's conditional start.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 240, unit = TimeUnit.SECONDS)
abstract class SweepResults {
    static final Duration TIMEOUT = Duration.ofSeconds(180);
    /** The tiny set's training images; with validationSplit 0.2, the points train on 480 of them. */
    static final int TRAIN = 600;
    Path home;
    @AutoClose
    KilnServer kiln;
    String student;

    /** The database URL, null for H2 in the server's home. */
    abstract String dbUrl();

    @BeforeAll
    void start() throws IOException {
        home = Files.createTempDirectory("kiln-sweep-results");
        Path data = home.resolve("data");
        TestData.write(data, "tiny", TRAIN, 200, 4);
        kiln = new KilnServer(home, data, dbUrl(), Map.of());
        student = kiln.user("student", "user");
    }

    static String sweepBody(String name, String grid, boolean retrain) {
        return "{\"name\":\"" + name + "\",\"base\":" + TestData.spec(name, "tiny", 3) + ",\"grid\":" + grid
                + (retrain ? ",\"retrain\":true" : "") + "}";
    }

    String createSweep(String token, String body) {
        KilnServer.Answer a = kiln.post("/api/v1/sweeps", token, body);
        assertEquals(201, a.status(), a.body());
        return a.json().get("id").asText();
    }

    @Test
    void retrainsTheBestPointOnTrainingAndValidationDataForItsBestEpochCount() {
        String id = createSweep(student, sweepBody("hidden", "{\"model.layers[1].units\":[4,16]}", true));
        JsonNode done = kiln.awaitSweepEnd(id, TIMEOUT);
        assertEquals("SUCCEEDED", done.get("state").asText(), done.toString());
        JsonNode best = done.get("best");
        JsonNode retrained = done.get("retrained");
        assertTrue(retrained.isObject(), done.toString());
        String job = retrained.get("jobId").asText();
        JsonNode retrainJob = kiln.get("/api/v1/jobs/" + job, KilnServer.ADMIN).json();
        assertEquals("student", retrainJob.get("user").asText(), "the retraining is the sweep's user's job");
        assertEquals(id, retrainJob.get("sweepId").asText(), retrainJob.toString());
        JsonNode spec = retrainJob.get("spec");
        assertEquals(best.get("values").get("model.layers[1].units").asInt(),
                spec.get("model").get("layers").get(1).get("units").asInt(), "it trains the best point's model");
        assertEquals(best.get("bestEpoch").asInt(), spec.get("training").get("epochs").asInt(),
                "for the epoch count of the best point's best validation accuracy");
        assertEquals(best.get("bestEpoch").asInt(), retrained.get("epochs").asInt());
        // The engine's own account: the point trained on the training part, the retraining on every image.
        JsonNode pointStart = ApiTestSupport.engineEvents(home, best.get("jobId").asText(), "start").get(0);
        assertEquals(TRAIN, pointStart.get("train_samples").asInt() + pointStart.get("val_samples").asInt());
        assertTrue(pointStart.get("val_samples").asInt() > 0, pointStart.toString());
        JsonNode retrainStart = ApiTestSupport.engineEvents(home, job, "start").get(0);
        assertEquals(TRAIN, retrainStart.get("train_samples").asInt(), retrainStart.toString());
        assertEquals(0, retrainStart.get("val_samples").asInt(), retrainStart.toString());
        double testAcc = retrainJob.get("metrics").get("test_acc").asDouble();
        assertEquals(testAcc, retrained.get("testAcc").asDouble(), 1e-12);
        assertTrue(testAcc > 0.5, "the tiny set is learnable: " + testAcc);
        assertEquals(2, done.get("points").size(), "the retraining is not a point of the grid");

        List<List<String>> rows = csvRows(kiln.get("/api/v1/sweeps/" + id + "?format=csv", student).body());
        assertEquals(List.of("model.layers[1].units", "best_val_acc", "best_epoch", "test_acc", "seconds", "epochs",
                "state", "job_id", "role"), rows.get(0));
        List<String> last = rows.get(rows.size() - 1);
        assertEquals(List.of("retrained", job, Double.toString(testAcc)),
                List.of(last.get(8), last.get(7), last.get(3)), "the CSV's last row is the retraining");
    }

    @Test
    void aRetrainWithoutValidationDataIsRefusedNamingTheField() {
        String body = "{\"base\":" + TestData.spec("noval", "tiny", 1).replace("\"validationSplit\":0.2", "\"validationSplit\":0")
                + ",\"grid\":{\"optimizer.lr\":[0.1]},\"retrain\":true}";
        KilnServer.Answer a = kiln.post("/api/v1/sweeps", student, body);
        assertEquals(400, a.status(), a.body());
        assertEquals("retrain", a.json().get("field").asText(), a.body());
        assertTrue(a.json().get("message").asText().contains("validationSplit"), a.body());
        KilnServer.Answer notBool = kiln.post("/api/v1/sweeps", student, sweepBody("x", "{\"optimizer.lr\":[0.1]}", false)
                .replaceFirst("}$", ",\"retrain\":\"yes\"}"));
        assertEquals(400, notBool.status(), notBool.body());
        assertEquals("retrain", notBool.json().get("field").asText(), notBool.body());
    }

    @Test
    void sweepsAreListedNewestFirstAndByUser() {
        String mine = createSweep(student, sweepBody("listed-student", "{\"optimizer.lr\":[0.05]}", false));
        String admins = createSweep(KilnServer.ADMIN, sweepBody("listed-admin", "{\"optimizer.lr\":[0.05,0.1]}", false));
        JsonNode all = kiln.get("/api/v1/sweeps", student).json();
        List<String> ids = new ArrayList<>();
        all.get("sweeps").forEach(s -> ids.add(s.get("id").asText()));
        assertTrue(ids.indexOf(admins) >= 0 && ids.indexOf(admins) < ids.indexOf(mine), "newest first: " + ids);
        JsonNode a = all.get("sweeps").get(ids.indexOf(admins));
        assertEquals("listed-admin", a.get("name").asText());
        assertEquals(2, a.get("pointCount").asInt(), a.toString());
        assertTrue(!a.has("points"), "the list leaves the points out");
        assertTrue(all.get("total").asInt() >= 2, all.toString());

        JsonNode students = kiln.get("/api/v1/sweeps?user=student", KilnServer.ADMIN).json();
        students.get("sweeps").forEach(s -> assertEquals("student", s.get("user").asText(), s.toString()));
        assertTrue(students.get("sweeps").toString().contains("\"id\":\"" + mine + "\""), students.toString());

        JsonNode page = kiln.get("/api/v1/sweeps?size=1&page=0", student).json();
        assertEquals(1, page.get("sweeps").size(), page.toString());
        assertEquals(admins, page.get("sweeps").get(0).get("id").asText(), "the newest");
        KilnServer.Answer bad = kiln.get("/api/v1/sweeps?size=0", student);
        assertEquals(400, bad.status(), bad.body());
        assertEquals("size", bad.json().get("field").asText());
        assertEquals(401, kiln.get("/api/v1/sweeps", null).status(), "signed-in users only");
    }

    @Test
    void aSweepSummaryComesAsCsvByFormatOrAccept() {
        String id = createSweep(student, sweepBody("csv-summary", "{\"model.layers[1].units\":[4,8],"
                + "\"optimizer.lr\":[0.05]}", false));
        JsonNode done = kiln.awaitSweepEnd(id, TIMEOUT);
        HttpResponse<String> byAccept = kiln.exchange(HttpRequest.newBuilder(kiln.uri("/api/v1/sweeps/" + id))
                .header("Authorization", "Bearer " + KilnServer.ADMIN).header("Accept", "text/csv").GET());
        assertEquals(200, byAccept.statusCode(), byAccept.body());
        assertTrue(byAccept.headers().firstValue("Content-Type").orElse("").startsWith("text/csv"), byAccept.headers().toString());
        assertTrue(byAccept.headers().firstValue("Content-Disposition").orElse("").contains("sweep-" + id + ".csv"));
        String byFormat = kiln.get("/api/v1/sweeps/" + id + "?format=csv", KilnServer.ADMIN).body();
        assertEquals(byAccept.body(), byFormat);

        List<List<String>> rows = csvRows(byFormat);
        assertEquals(List.of("model.layers[1].units", "optimizer.lr", "best_val_acc", "best_epoch", "test_acc",
                "seconds", "epochs", "state", "job_id", "role"), rows.get(0));
        assertEquals(3, rows.size(), byFormat);
        for (int i = 0; i < 2; i++) {
            JsonNode p = done.get("points").get(i);
            List<String> row = rows.get(i + 1);
            assertEquals(p.get("values").get("model.layers[1].units").asText(), row.get(0));
            assertEquals("0.05", row.get(1));
            assertEquals(p.get("bestValAcc").asDouble(), Double.parseDouble(row.get(2)), 0);
            assertEquals(p.get("bestEpoch").asText(), row.get(3));
            assertEquals(p.get("testAcc").asDouble(), Double.parseDouble(row.get(4)), 0);
            assertEquals(p.get("jobId").asText(), row.get(8));
            assertEquals(p.get("jobId").asText().equals(done.get("best").get("jobId").asText()) ? "best" : "point", row.get(9));
        }
        // The JSON stays the default, also when a browser's Accept names both.
        HttpResponse<String> both = kiln.exchange(HttpRequest.newBuilder(kiln.uri("/api/v1/sweeps/" + id))
                .header("Authorization", "Bearer " + KilnServer.ADMIN).header("Accept", "application/json, text/csv").GET());
        assertTrue(both.body().startsWith("{"), both.body());
        KilnServer.Answer bad = kiln.get("/api/v1/sweeps/" + id + "?format=xlsx", KilnServer.ADMIN);
        assertEquals(400, bad.status(), bad.body());
        assertEquals("format", bad.json().get("field").asText());
        assertEquals(404, kiln.get("/api/v1/sweeps/999999?format=csv", KilnServer.ADMIN).status());
    }

    @Test
    void severalJobsMetricsComeInOneCsvTable() {
        String a = kiln.submit(TestData.spec("=first", "tiny", 2), student);
        String b = kiln.submit(TestData.spec("second, with a comma", "tiny", 3));
        kiln.awaitState(a, "SUCCEEDED", TIMEOUT);
        kiln.awaitState(b, "SUCCEEDED", TIMEOUT);
        // Per-epoch metrics are the queue's, every signed-in user's to read (README, "Who sees what").
        String other = kiln.user("classmate", "user");
        KilnServer.Answer csv = kiln.get("/api/v1/metrics?jobs=" + b + "," + a + "&format=csv", other);
        assertEquals(200, csv.status(), csv.body());
        List<List<String>> rows = csvRows(csv.body());
        assertEquals(List.of("job_id", "job_name", "epoch", "train_loss", "train_acc", "val_loss", "val_acc",
                "samples_per_s", "seconds", "lr"), rows.get(0));
        assertEquals(1 + 3 + 2, rows.size(), csv.body());
        assertEquals(List.of(b, "second, with a comma", "1"), rows.get(1).subList(0, 3), "in the order asked");
        assertEquals(List.of(a, "'=first", "2"), rows.get(5).subList(0, 3), "a formula-like name is defused");
        JsonNode epochsOfA = kiln.get("/api/v1/jobs/" + a + "/metrics", other).json().get("epochs");
        for (int e = 0; e < 2; e++) {
            List<String> row = rows.get(4 + e);
            JsonNode point = epochsOfA.get(e);
            assertEquals(point.get("train_loss").asDouble(), Double.parseDouble(row.get(3)), 0);
            assertEquals(point.get("val_acc").asDouble(), Double.parseDouble(row.get(6)), 0);
        }
        JsonNode json = kiln.get("/api/v1/metrics?jobs=" + a + "," + b, other).json();
        assertEquals(a, json.get("jobs").get(0).get("jobId").asText());
        assertEquals(3, json.get("jobs").get(1).get("epochs").size(), json.toString());

        KilnServer.Answer missing = kiln.get("/api/v1/metrics?jobs=" + a + ",999999&format=csv", other);
        assertEquals(404, missing.status(), missing.body());
        assertTrue(missing.json().get("message").asText().contains("999999"), missing.body());
        KilnServer.Answer bad = kiln.get("/api/v1/metrics?jobs=1,x", other);
        assertEquals(400, bad.status(), bad.body());
        assertEquals("jobs", bad.json().get("field").asText());
        assertEquals(400, kiln.get("/api/v1/metrics", other).status());
    }

    @Test
    void resizedImagesTrainAndTheReportGivesEveryClassScore() {
        String spec = TestData.spec("resized", "tiny", 2).replace("\"validationSplit\":0.2",
                "\"validationSplit\":0.2,\"resize\":[12,12],\"pad\":2");
        String id = kiln.submit(spec, student);
        JsonNode job = kiln.awaitState(id, "SUCCEEDED", TIMEOUT);
        assertTrue(job.get("metrics").get("test_acc").asDouble() > 0.5, job.toString());
        // 8x8 images, resized to 12x12 and padded by 2 on each side: the first dense layer sees 16x16 inputs.
        JsonNode start = ApiTestSupport.engineEvents(home, id, "start").get(0);
        assertEquals((16 * 16 + 1) * 16 + (16 + 1) * 4, start.get("parameters").asInt(), start.toString());
        KilnServer.Answer report = kiln.get("/api/v1/jobs/" + id + "/report?images=5", student);
        assertEquals(200, report.status(), report.body());
        Matcher tables = Pattern.compile("<table class=\"scores\">(.*?)</table>").matcher(report.body());
        int images = 0;
        while (tables.find()) {
            images++;
            assertEquals(4, tables.group(1).split("<tr").length - 1, "every class's score: " + tables.group(1));
        }
        // The report shows one of kiln.report-sizes test images, the request rounded up to one.
        Matcher first = Pattern.compile("The first (\\d+) test images").matcher(report.body());
        assertTrue(first.find(), "the report says how many images it shows");
        assertTrue(Integer.parseInt(first.group(1)) >= 5, first.group());
        assertEquals(Integer.parseInt(first.group(1)), images, "one score table per test image shown");
        assertTrue(report.body().contains("Confusion matrix"), "the confusion matrix stays");
    }

    /** A CSV text's rows, cells unquoted as RFC 4180 says. */
    static List<List<String>> csvRows(String csv) {
        List<List<String>> rows = new ArrayList<>();
        List<String> row = new ArrayList<>();
        StringBuilder cell = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < csv.length(); i++) {
            char c = csv.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < csv.length() && csv.charAt(i + 1) == '"') {
                    cell.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    cell.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                row.add(cell.toString());
                cell.setLength(0);
            } else if (c == '\n') {
                row.add(cell.toString());
                cell.setLength(0);
                rows.add(row);
                row = new ArrayList<>();
            } else {
                cell.append(c);
            }
        }
        return rows;
    }
}
