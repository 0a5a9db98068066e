package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.service.config.KilnPaths;
import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Who may see and do what (README, "Who sees what"), over real HTTP: two users (alice, bob), a user with the admin
 * role (carol) and the built-in admin, each rule allowed and refused; the token lifecycle (list, revoke, expire,
 * disable). The same tests run on H2 ({@link AccessRulesH2Test}) and PostgreSQL ({@link AccessRulesPostgresTest}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
abstract class AccessRules {
    static final Duration TIMEOUT = Duration.ofSeconds(120);
    @AutoClose
    KilnServer kiln;
    Path home;
    String alice;
    String bob;
    String carol;
    /** alice's finished job, never shared. */
    String job;
    /** alice's finished job, shared and unshared by the tests. */
    String sharedJob;

    /** The database the server uses: null for H2 in its home. */
    abstract String dbUrl();

    @BeforeAll
    void start() throws IOException {
        home = Files.createTempDirectory("kiln-access");
        TestData.write(home.resolve("data"), "tiny", 300, 100, 4);
        kiln = new KilnServer(home, home.resolve("data"), dbUrl(), Map.of());
        alice = kiln.user("alice", "user");
        bob = kiln.user("bob", "user");
        carol = kiln.user("carol", "admin");
        job = kiln.submit(TestData.spec("alice-private", "tiny", 2), alice);
        sharedJob = kiln.submit(TestData.spec("alice-to-share", "tiny", 2), alice);
        kiln.awaitState(job, "SUCCEEDED", TIMEOUT);
        kiln.awaitState(sharedJob, "SUCCEEDED", TIMEOUT);
    }

    /** A refusal in the one error shape: the status in the body too, a message, and nothing of the request. */
    static JsonNode refused(KilnServer.Answer a, int status, String... words) {
        assertEquals(status, a.status(), a.body());
        JsonNode n = a.json();
        assertEquals(status, n.path("status").asInt(), a.body());
        for (String w : words) {
            assertTrue(n.path("message").asText().contains(w), "\"" + w + "\" in " + a.body());
        }
        n.fieldNames().forEachRemaining(f -> assertTrue(List.of("status", "message", "field").contains(f), a.body()));
        return n;
    }

    @Test
    void everyoneSeesTheQueueAndTheMetrics() {
        JsonNode list = kiln.get("/api/v1/jobs?user=alice", bob).json();
        assertTrue(list.get("jobs").findValuesAsText("id").contains(job), list.toString());
        JsonNode seen = kiln.get("/api/v1/jobs/" + job, bob).json();
        assertEquals("alice", seen.get("user").asText());
        assertEquals("SUCCEEDED", seen.get("state").asText());
        assertFalse(seen.get("shared").asBoolean());
        assertEquals(2, seen.path("progress").path("epoch").asInt());
        assertTrue(seen.path("metrics").path("val_acc").isNumber(), "latest metrics are the queue's");
        assertEquals("{\"results\":false,\"cancel\":false,\"share\":false}", seen.get("permissions").toString());
        for (String who : List.of(alice, carol, KilnServer.ADMIN)) {
            assertEquals("{\"results\":true,\"cancel\":true,\"share\":true}",
                    kiln.get("/api/v1/jobs/" + job, who).json().get("permissions").toString());
        }
        assertEquals(2, kiln.get("/api/v1/jobs/" + job + "/metrics", bob).json().get("epochs").size());
        KilnServer.Answer events = kiln.get("/api/v1/jobs/" + job + "/events", bob);
        assertEquals(200, events.status());
        assertTrue(events.body().contains("event: job") && events.body().contains("alice-private"), events.body());
    }

    @Test
    void aModelIsItsOwnersAndTheAdminsUntilShared() throws IOException {
        Path mlp = TestData.pytorchFixture("mlp_bn.pt");
        KilnServer.Answer up = ApiTestSupport.multipart(kiln, alice, "/api/v1/models", Map.of("name", "alice-mlp"),
                "file", "mlp_bn.pt", Files.readAllBytes(mlp));
        assertEquals(201, up.status(), up.body());
        refused(kiln.get("/api/v1/models/alice-mlp", bob), 403, "belongs to alice", "not shared",
                "PATCH /api/v1/models/alice-mlp");
        assertFalse(kiln.get("/api/v1/models", bob).json().findValuesAsText("name").contains("alice-mlp"));
        for (String who : List.of(alice, carol, KilnServer.ADMIN)) {
            assertTrue(kiln.get("/api/v1/models", who).json().findValuesAsText("name").contains("alice-mlp"));
            assertEquals("alice", kiln.get("/api/v1/models/alice-mlp", who).json().path("user").asText());
        }
        refused(kiln.patch("/api/v1/models/alice-mlp", bob, "{\"shared\": true}"), 403, "only alice or an admin");
        refused(kiln.patch("/api/v1/models/alice-mlp", alice, "{\"shared\": 1}"), 400, "shared");
        JsonNode shared = kiln.patch("/api/v1/models/alice-mlp", alice, "{\"shared\": true}").json();
        assertTrue(shared.path("shared").asBoolean(), shared.toString());
        assertTrue(kiln.get("/api/v1/models", bob).json().findValuesAsText("name").contains("alice-mlp"));
        JsonNode seen = kiln.get("/api/v1/models/alice-mlp", bob).json();
        assertFalse(seen.path("permissions").path("share").asBoolean(), "bob may use it, not share it: " + seen);
        assertFalse(kiln.patch("/api/v1/models/alice-mlp", carol, "{\"shared\": false}").json().path("shared")
                .asBoolean(), "an admin stops sharing it");
        refused(kiln.get("/api/v1/models/alice-mlp", bob), 403, "not shared");
        refused(kiln.get("/api/v1/models/nobodys", alice), 404, "no model nobodys");
    }

    @Test
    void aJobsResultsAreItsOwnersAndTheAdmins() {
        for (String result : List.of("log", "report?images=4", "checkpoint", "onnx")) {
            String path = "/api/v1/jobs/" + job + "/" + result;
            for (String who : List.of(alice, carol, KilnServer.ADMIN)) {
                assertEquals(200, kiln.get(path, who).status(), result);
            }
            refused(kiln.get(path, bob), 403, "job " + job + " belongs to alice and is not shared",
                    "for alice and the admins only", "PATCH /api/v1/jobs/" + job + " {\"shared\": true}");
        }
        refused(predict(job, bob), 403, "predictions with its weights", "belongs to alice");
        // alice gets past the rule to the next one: no images sent
        JsonNode noImages = refused(predict(job, alice), 400, "images");
        assertEquals("images", noImages.get("field").asText());
    }

    @Test
    void fineTuningFromAJobNeedsItsResults() {
        String spec = fineTune(job);
        JsonNode n = refused(kiln.post("/api/v1/jobs", bob, spec), 403, "belongs to alice", "fine-tuning from its weights");
        assertEquals("init.fromJob", n.get("field").asText());
        String sweep = "{\"name\":\"ft\",\"base\":" + spec + ",\"grid\":{\"optimizer.lr\":[0.1,0.01]}}";
        refused(kiln.post("/api/v1/sweeps", bob, sweep), 403, "fine-tuning from its weights");
        for (String who : List.of(alice, carol)) {
            String id = kiln.submit(spec, who);
            kiln.post("/api/v1/jobs/" + id + "/cancel", who, null);
        }
    }

    @Test
    void theOwnerOrAnAdminSharesAJob() {
        String path = "/api/v1/jobs/" + sharedJob;
        refused(kiln.patch(path, bob, "{\"shared\": true}"), 403, "only alice or an admin may share it", "you are bob");
        refused(kiln.get(path + "/log", bob), 403, "not shared");

        JsonNode shared = kiln.patch(path, alice, "{\"shared\": true}").json();
        assertTrue(shared.get("shared").asBoolean(), shared.toString());
        JsonNode seen = kiln.get(path, bob).json();
        assertTrue(seen.get("shared").asBoolean());
        assertTrue(seen.path("permissions").path("results").asBoolean());
        assertFalse(seen.path("permissions").path("share").asBoolean(), "sharing stays the owner's");
        assertTrue(kiln.get(path + "/log", bob).body().contains("kiln: shared with the lab by alice"));
        assertEquals(200, kiln.get(path + "/report?images=4", bob).status());
        assertEquals(200, kiln.get(path + "/checkpoint", bob).status());
        assertEquals(200, kiln.get(path + "/onnx", bob).status());
        refused(predict(sharedJob, bob), 400, "images");
        String tuned = kiln.submit(fineTune(sharedJob), bob);
        kiln.post("/api/v1/jobs/" + tuned + "/cancel", bob, null);

        assertFalse(kiln.patch(path, carol, "{\"shared\": false}").json().get("shared").asBoolean(), "an admin unshares");
        refused(kiln.get(path + "/log", bob), 403, "not shared");
        refused(kiln.get(path + "/checkpoint", bob), 403, "not shared");
        refused(kiln.get(path + "/onnx", bob), 403, "not shared");

        assertEquals("shared", refused(kiln.patch(path, alice, "{\"shared\": \"yes\"}"), 400, "true or false").get("field").asText());
        assertEquals("public", refused(kiln.patch(path, alice, "{\"shared\": true, \"public\": 1}"), 400, "unknown field").get("field").asText());
        assertEquals("shared", refused(kiln.patch(path, alice, "{}"), 400, "is required").get("field").asText());
        refused(kiln.patch(path, alice, "[true]"), 400, "JSON object");
        refused(kiln.patch("/api/v1/jobs/987654", alice, "{\"shared\": true}"), 404, "no job 987654");
    }

    @Test
    void onlyTheOwnerOrAnAdminCancels() {
        refused(kiln.post("/api/v1/jobs/" + job + "/cancel", bob, null), 403, "only alice or an admin may cancel it");
        refused(kiln.post("/api/v1/jobs/" + job + "/cancel", alice, null), 409, "already ended");
        refused(kiln.post("/api/v1/jobs/" + job + "/cancel", carol, null), 409, "already ended");
    }

    @Test
    void anErrorThatQuotesTheLogIsCutForOthers() throws SQLException {
        String failed = kiln.submit(TestData.spec("alice-failed", "tiny", 1), alice);
        kiln.awaitState(failed, "SUCCEEDED", TIMEOUT);
        sql("UPDATE jobs SET state = 'FAILED', error = ? WHERE id = ?",
                "the worker exited with code 1; its last output:\nreading /home/alice/secret-notes", Long.parseLong(failed));
        String cut = "the worker exited with code 1; its last output (in the job's log, which is for its owner and the admins)";
        assertEquals(cut, kiln.get("/api/v1/jobs/" + failed, bob).json().get("error").asText());
        JsonNode inList = kiln.get("/api/v1/jobs?user=alice&state=FAILED", bob).json().get("jobs").get(0);
        assertEquals(cut, inList.get("error").asText());
        assertTrue(kiln.get("/api/v1/jobs/" + failed, alice).json().get("error").asText().contains("secret-notes"));
        assertTrue(kiln.get("/api/v1/jobs/" + failed, carol).json().get("error").asText().contains("secret-notes"));
    }

    @Test
    void aUserSeesTheirTokensButNeverTheirSecrets() {
        String second = createToken("alice", "{\"label\": \"laptop\"}").get("token").asText();
        assertEquals(200, kiln.get("/api/v1/me", second).status());
        KilnServer.Answer list = kiln.get("/api/v1/users/alice/tokens", alice);
        assertEquals(200, list.status(), list.body());
        assertFalse(list.body().contains(alice) || list.body().contains(second), "no secret in " + list.body());
        JsonNode laptop = null;
        for (JsonNode t : list.json()) {
            assertTrue(t.has("id") && t.has("createdAt") && t.has("lastUsedAt") && t.has("expiresAt"), t.toString());
            assertFalse(t.has("token") || t.has("tokenHash"), t.toString());
            if ("laptop".equals(t.path("label").asText())) {
                laptop = t;
            }
        }
        assertTrue(laptop != null && laptop.get("lastUsedAt").isTextual() && laptop.get("expiresAt").isNull(), list.body());
        assertEquals(200, kiln.get("/api/v1/users/alice/tokens", carol).status(), "an admin sees anyone's");
        refused(kiln.get("/api/v1/users/alice/tokens", bob), 403, "the tokens of alice are for alice and the admins");
        refused(kiln.post("/api/v1/users/bob/tokens", bob, "{}"), 403, "only an admin may do this", "you are bob");
        refused(kiln.get("/api/v1/users/nobody/tokens", carol), 404, "no user nobody");

        JsonNode me = kiln.get("/api/v1/me", second).json();
        assertEquals("alice", me.get("name").asText());
        assertEquals(laptop.get("id").asText(), me.path("token").path("id").asText(), "the token in use");
        assertEquals("laptop", me.path("token").path("label").asText());
        assertFalse(me.toString().contains(second), "never the secret");
        assertEquals("KILN_ADMIN_TOKEN", kiln.get("/api/v1/me", KilnServer.ADMIN).json().path("token").path("label").asText());
    }

    @Test
    void aRevokedTokenAnswers401() {
        kiln.user("dave", "user");
        JsonNode made = createToken("dave", "{\"label\": \"leaked\"}");
        String leaked = made.get("token").asText();
        String id = made.get("id").asText();
        String keep = kiln.user("dave", "user");
        assertEquals(200, kiln.get("/api/v1/jobs", leaked).status());

        refused(kiln.delete("/api/v1/users/dave/tokens/" + id, bob), 403, "the tokens of dave are for dave and the admins");
        assertEquals(200, kiln.get("/api/v1/jobs", leaked).status(), "a refused revocation revokes nothing");
        KilnServer.Answer revoked = kiln.delete("/api/v1/users/dave/tokens/" + id, keep);
        assertEquals(204, revoked.status(), revoked.body());
        refused(kiln.get("/api/v1/jobs", leaked), 401, "unknown or was revoked");
        refused(kiln.post("/api/v1/jobs", leaked, TestData.spec("x", "tiny", 1)), 401, "unknown or was revoked");
        assertEquals(200, kiln.get("/api/v1/jobs", keep).status(), "the user's other tokens still work");
        refused(kiln.delete("/api/v1/users/dave/tokens/" + id, keep), 404, "user dave has no token " + id);
        refused(kiln.delete("/api/v1/users/dave/tokens/abc", keep), 400, "tokenId");
        // an admin revokes anyone's, the token in use included
        String keepId = kiln.get("/api/v1/me", keep).json().path("token").path("id").asText();
        assertEquals(204, kiln.delete("/api/v1/users/dave/tokens/" + keepId, carol).status());
        refused(kiln.get("/api/v1/me", keep), 401, "unknown or was revoked");
    }

    @Test
    void anExpiredTokenAnswers401() throws SQLException {
        kiln.user("erin", "user");
        JsonNode made = createToken("erin", "{\"label\": \"day\", \"expiresInDays\": 1}");
        Instant expires = Instant.parse(made.get("expiresAt").asText());
        long hours = Duration.between(Instant.now(), expires).toHours();
        assertTrue(hours >= 23 && hours <= 24, "a day from now: " + expires);
        String token = made.get("token").asText();
        assertEquals(200, kiln.get("/api/v1/jobs", token).status());
        // a day passes
        sql("UPDATE api_tokens SET expires_at = ? WHERE id = ?",
                OffsetDateTime.now(ZoneOffset.UTC).minusSeconds(1), Long.parseLong(made.get("id").asText()));
        refused(kiln.get("/api/v1/jobs", token), 401, "this token expired at");
        JsonNode listed = kiln.get("/api/v1/users/erin/tokens", carol).json();
        assertTrue(listed.toString().contains("\"expired\":true"), listed.toString());

        for (String bad : List.of("0", "3651", "1.5", "\"7\"")) {
            JsonNode n = refused(kiln.post("/api/v1/users/erin/tokens", carol, "{\"expiresInDays\": " + bad + "}"), 400);
            assertEquals("expiresInDays", n.get("field").asText(), bad);
        }
        assertEquals("label", refused(kiln.post("/api/v1/users/erin/tokens", carol, "{\"label\": \"" + "x".repeat(101) + "\"}"),
                400, "at most 100").get("field").asText());
        assertEquals("expires", refused(kiln.post("/api/v1/users/erin/tokens", carol, "{\"expires\": 3}"), 400,
                "unknown field").get("field").asText());
    }

    @Test
    void aDisabledUsersTokensAnswer401() {
        String one = kiln.user("frank", "user");
        String two = kiln.user("frank", "user");
        refused(kiln.patch("/api/v1/users/frank", one, "{\"disabled\": true}"), 403, "only an admin may do this");
        refused(kiln.patch("/api/v1/users/frank", bob, "{\"disabled\": true}"), 403, "only an admin may do this");
        JsonNode off = kiln.patch("/api/v1/users/frank", carol, "{\"disabled\": true}").json();
        assertTrue(off.get("disabled").asBoolean(), off.toString());
        refused(kiln.get("/api/v1/jobs", one), 401, "user frank is disabled");
        refused(kiln.get("/api/v1/me", two), 401, "user frank is disabled");
        assertEquals(200, kiln.get("/api/v1/jobs", bob).status(), "others are not");
        assertFalse(kiln.patch("/api/v1/users/frank", KilnServer.ADMIN, "{\"disabled\": false}").json().get("disabled").asBoolean());
        assertEquals(200, kiln.get("/api/v1/jobs", one).status(), "enabled again");

        refused(kiln.patch("/api/v1/users/nobody", carol, "{\"disabled\": true}"), 404, "no user nobody");
        refused(kiln.patch("/api/v1/users/admin", carol, "{\"disabled\": true}"), 409, "KILN_ADMIN_TOKEN");
        assertEquals("disabled", refused(kiln.patch("/api/v1/users/frank", carol, "{\"disabled\": 1}"), 400).get("field").asText());
    }

    JsonNode createToken(String user, String body) {
        KilnServer.Answer t = kiln.post("/api/v1/users/" + user + "/tokens", KilnServer.ADMIN, body);
        assertEquals(201, t.status(), t.body());
        return t.json();
    }

    String fineTune(String from) {
        return TestData.spec("fine-tuned", "tiny", 1).replace("\"device\":\"cpu\"", "\"device\":\"cpu\",\"init\":{\"fromJob\":\"" + from + "\"}");
    }

    /** POST /predict with one form field and no image. */
    KilnServer.Answer predict(String id, String token) {
        String boundary = "kilnTestBoundary";
        String body = "--" + boundary + "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nnone\r\n--" + boundary + "--\r\n";
        HttpResponse<String> r = kiln.exchange(HttpRequest.newBuilder(kiln.uri("/api/v1/jobs/" + id + "/predict"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)));
        return new KilnServer.Answer(r.statusCode(), r.body());
    }

    /** Changes the server's database directly: what time or a crashed worker would have done. */
    void sql(String update, Object... args) throws SQLException {
        String url = dbUrl() == null ? KilnPaths.h2Url(home) : dbUrl();
        try (Connection c = dbUrl() == null ? DriverManager.getConnection(url, "sa", "") : DriverManager.getConnection(url);
             PreparedStatement ps = c.prepareStatement(update)) {
            for (int i = 0; i < args.length; i++) {
                ps.setObject(i + 1, args[i]);
            }
            assertEquals(1, ps.executeUpdate(), update);
        }
    }
}
