package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real browser (Debian's headless Chromium through ChromeDriver): enter a token, submit a
 * job through the page, see it finish with its learning curves drawn, open its report, compare two jobs, see
 * another's private job refused in words, revoke a token on the tokens page, and save screenshots
 * (target/dashboard-*.png). All of it under the pages' Content-Security-Policy: any violation fails the test.
 * Skipped, saying so, where Chromium or ChromeDriver is missing (.ci/run installs them).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class DashboardBrowserTest {
    static final Duration TIMEOUT = Duration.ofSeconds(120);
    KilnServer kiln;
    ChromeDriver browser;
    Path home;
    String data;

    static String tool(String env, String fallback) {
        String v = System.getenv(env);
        return v != null && !v.isBlank() ? v : fallback;
    }

    @BeforeAll
    void start() throws IOException {
        String chromium = tool("KILN_TEST_CHROMIUM", "/usr/bin/chromium");
        String driver = tool("KILN_TEST_CHROMEDRIVER", "/usr/bin/chromedriver");
        assumeTrue(new File(chromium).canExecute() && new File(driver).canExecute(),
                "Chromium (" + chromium + ") or ChromeDriver (" + driver + ") not found: the browser test is skipped "
                        + "(.ci/run installs Debian's chromium and chromium-driver)");
        home = Files.createTempDirectory("kiln-dashboard");
        Path dataRoot = home.resolve("data");
        TestData.write(dataRoot, "tiny", 600, 200, 4);
        Path fashion = ExperimentsApiTest.sharedFashion();
        if (fashion != null) {
            Files.createSymbolicLink(dataRoot.resolve("fashion-mnist"), fashion);
        }
        // Fashion-MNIST makes learning curves worth looking at; the generated data keeps the test going without it.
        data = fashion != null ? "fashion-mnist" : "tiny";
        kiln = new KilnServer(home, dataRoot, null, Map.of("kiln.worker-heap", "1g"));
        ChromeOptions options = new ChromeOptions();
        options.setBinary(chromium);
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--user-data-dir=" + home.resolve("chromium-profile"), "--window-size=1400,1000");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File(driver))
                .usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
        browser.manage().window().setSize(new Dimension(1400, 1000));
        // Records the page's Content-Security-Policy violations (DevTools scripts run whatever the policy says).
        browser.executeCdpCommand("Page.addScriptToEvaluateOnNewDocument", Map.of("source", "window.cspViolations = [];"
                + "document.addEventListener('securitypolicyviolation', (e) => window.cspViolations.push("
                + "e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));"));
    }

    /** The page runs under its policy and broke none of it. */
    void noPolicyViolations() {
        assertEquals(List.of(), ((JavascriptExecutor) browser).executeScript("return window.cspViolations;"),
                "Content-Security-Policy violations");
    }

    void signIn(String token, String name) {
        browser.get(kiln.uri("/").toString());
        browser.findElement(By.id("token")).sendKeys(token);
        browser.findElement(By.cssSelector("#token-form button")).click();
        waiting().until(d -> d.findElement(By.id("whoami")).getText().contains(name));
    }

    @AfterAll
    void stop() {
        if (browser != null) {
            browser.quit();
        }
        if (kiln != null) {
            kiln.close();
        }
    }

    String spec(String name, int units, int epochs) {
        String layers = data.equals("tiny")
                ? "[{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":" + units + "},{\"type\":\"relu\"},{\"type\":\"dense\",\"units\":4}]"
                : "[{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":" + units + "},{\"type\":\"relu\"},{\"type\":\"dense\",\"units\":10}]";
        return "{\"name\":\"" + name + "\",\"data\":{\"name\":\"" + data + "\",\"validationSplit\":0.1},\"model\":{\"layers\":"
                + layers + "},\"optimizer\":{\"type\":\"sgd\",\"lr\":0.05,\"momentum\":0.9},\"training\":{\"epochs\":"
                + epochs + ",\"batchSize\":100},\"device\":\"cpu\"}";
    }

    WebDriverWait waiting() {
        return new WebDriverWait(browser, TIMEOUT);
    }

    @Test
    void submitAJobThroughThePageAndSeeItsCurves() throws IOException {
        browser.get(kiln.uri("/").toString());
        ((JavascriptExecutor) browser).executeScript("localStorage.clear();");
        browser.navigate().refresh();
        assertTrue(browser.findElement(By.id("view")).getText().contains("Enter your API token"));
        browser.findElement(By.id("token")).sendKeys(KilnServer.ADMIN);
        browser.findElement(By.cssSelector("#token-form button")).click();
        waiting().until(d -> d.findElement(By.id("whoami")).getText().contains("admin"));

        // A second job to compare with, submitted over the API meanwhile.
        String other = kiln.submit(spec("mlp-32", 32, 4));

        browser.get(kiln.uri("/#/submit").toString());
        WebElement text = waiting().until(d -> d.findElement(By.id("spec")));
        ((JavascriptExecutor) browser).executeScript("arguments[0].value = arguments[1];", text, spec("mlp-128", 128, 4));
        browser.findElement(By.id("submit")).click();
        waiting().until(d -> d.getCurrentUrl().contains("#/job/"));
        String id = browser.getCurrentUrl().replaceAll(".*#/job/", "");
        waiting().until(d -> "SUCCEEDED".equals(d.findElement(By.tagName("body")).getDomAttribute("data-job-state")));
        // The charts are drawn from the job's metrics: one point per epoch, and the per-step loss.
        waiting().until(d -> points("chart-accuracy", 1) == 4 && points("chart-step-loss", 0) > 10);
        assertEquals(4L, points("chart-epoch-loss", 0));
        // What is drawn is the job's series, point for point.
        JsonNode metrics = kiln.get("/api/v1/jobs/" + id + "/metrics?maxPoints=400", KilnServer.ADMIN).json();
        assertSeries(metrics.get("epochs"), "train_acc", values("chart-accuracy", 0));
        assertSeries(metrics.get("epochs"), "val_acc", values("chart-accuracy", 1));
        assertSeries(metrics.get("epochs"), "train_loss", values("chart-epoch-loss", 0));
        assertSeries(metrics.get("epochs"), "val_loss", values("chart-epoch-loss", 1));
        assertSeries(metrics.get("steps"), "loss", values("chart-step-loss", 0));
        assertTrue(browser.findElement(By.id("log")).getText().contains("kiln: succeeded"));
        screenshot("job");
        openReport();

        kiln.awaitState(other, "SUCCEEDED", TIMEOUT);
        browser.get(kiln.uri("/#/jobs").toString());
        waiting().until(d -> d.findElements(By.cssSelector("#jobs tr.job")).size() >= 2);
        List<WebElement> rows = browser.findElements(By.cssSelector("#jobs tr.job"));
        assertTrue(rows.stream().anyMatch(r -> r.getText().contains("mlp-128") && r.getText().contains("SUCCEEDED")));
        screenshot("queue");

        browser.get(kiln.uri("/#/compare?ids=" + id + "," + other).toString());
        waiting().until(d -> d.findElements(By.cssSelector("#summary tbody tr")).size() == 2
                && points("chart-compare", 3) == 4);
        String summary = browser.findElement(By.id("summary")).getText();
        assertTrue(summary.contains("mlp-128") && summary.contains("mlp-32"), summary);
        assertSeries(kiln.get("/api/v1/jobs/" + id + "/metrics", KilnServer.ADMIN).json().get("epochs"), "val_acc",
                values("chart-compare", 1));
        assertSeries(kiln.get("/api/v1/jobs/" + other + "/metrics", KilnServer.ADMIN).json().get("epochs"), "val_acc",
                values("chart-compare", 3));
        screenshot("compare");

        KilnServer.Answer sweep = kiln.post("/api/v1/sweeps", KilnServer.ADMIN, "{\"name\":\"width\",\"base\":"
                + spec("w", 16, 1) + ",\"grid\":{\"model.layers[1].units\":[8,64]}}");
        assertEquals(201, sweep.status(), sweep.body());
        browser.get(kiln.uri("/#/sweep/" + sweep.json().get("id").asText()).toString());
        // The sweep's own state (beside its name) turns SUCCEEDED once both points have; one row is the best.
        waiting().until(d -> d.findElements(By.cssSelector("#view > p.muted .state.SUCCEEDED")).size() == 1
                && d.findElements(By.cssSelector("#sweep tr.best")).size() == 1);
        assertEquals(2, browser.findElements(By.cssSelector("#sweep tbody tr")).size());
        screenshot("sweep");

        browser.get(kiln.uri("/#/devices").toString());
        waiting().until(d -> d.findElement(By.id("view")).getText().contains("cpu"));
        screenshot("devices");

        Path mlp = TestData.pytorchFixture("mlp_bn.pt");
        assertEquals(201, ApiTestSupport.multipart(kiln, "/api/v1/models", Map.of("name", "mlp-bn"), "file",
                "mlp_bn.pt", Files.readAllBytes(mlp)).status());
        browser.get(kiln.uri("/#/models").toString());
        waiting().until(d -> !d.findElements(By.cssSelector("#models tr.model[data-name='mlp-bn']")).isEmpty());
        assertTrue(browser.findElement(By.cssSelector("#models tr.model")).getText().contains("pytorch"));
        noPolicyViolations();
    }

    /**
     * The report opens in a window of its own, under the dashboard's policy (it inherits it): its one style
     * block applies (allowed by its hash) and its images show.
     */
    void openReport() {
        String dashboard = browser.getWindowHandle();
        browser.findElement(By.xpath("//button[text()='Open report']")).click();
        waiting().until(d -> d.getWindowHandles().size() == 2);
        String report = browser.getWindowHandles().stream().filter(h -> !h.equals(dashboard)).findFirst().orElseThrow();
        browser.switchTo().window(report);
        try {
            waiting().until(d -> !d.findElements(By.cssSelector("table.confusion td[class]")).isEmpty());
            JavascriptExecutor js = (JavascriptExecutor) browser;
            assertEquals("solid", js.executeScript("return getComputedStyle(document.querySelector('figure')).borderTopStyle;"),
                    "the report's style block applies");
            String shade = (String) js.executeScript("const td = [...document.querySelectorAll('table.confusion td[class]')]"
                    + ".find((c) => c.className !== 'g0' && c.className !== 'r0'); return getComputedStyle(td).backgroundColor;");
            assertTrue(shade.startsWith("rgba(") || shade.startsWith("rgb("), shade);
            assertTrue(!shade.equals("rgba(0, 0, 0, 0)"), "confusion cells are shaded: " + shade);
            assertTrue((Boolean) js.executeScript("const i = document.querySelector('figure img'); return i.complete && i.naturalWidth > 0;"),
                    "the inline test images show");
        } finally {
            browser.close();
            browser.switchTo().window(dashboard);
        }
    }

    @Test
    void anotherUsersPrivateJobIsRefusedInWordsAndTokensAreRevokedOnTheirPage() throws IOException {
        String browserToken = kiln.user("tess", "user");
        KilnServer.Answer laptop = kiln.post("/api/v1/users/tess/tokens", KilnServer.ADMIN, "{\"label\": \"laptop\"}");
        assertEquals(201, laptop.status(), laptop.body());
        String laptopToken = laptop.json().get("token").asText();
        String laptopId = laptop.json().get("id").asText();
        String adminJob = kiln.submit(TestData.spec("admins-own", "tiny", 1));
        kiln.awaitState(adminJob, "SUCCEEDED", TIMEOUT);

        signIn(browserToken, "tess");
        browser.get(kiln.uri("/#/job/" + adminJob).toString());
        WebElement refused = waiting().until(d -> {
            WebElement p = d.findElement(By.id("log-refused"));
            return p.isDisplayed() ? p : null;
        });
        assertTrue(refused.getText().contains("job " + adminJob + " belongs to admin and is not shared")
                && refused.getText().contains("PATCH /api/v1/jobs/" + adminJob), refused.getText());
        assertTrue(!refused.getText().contains("{") || refused.getText().contains("{\"shared\": true}"),
                "a sentence, not the JSON answer: " + refused.getText());
        assertTrue(browser.findElements(By.xpath("//button[text()='Open report' or text()='Download checkpoint' "
                + "or text()='Share with the lab']")).isEmpty(), "no button that would be refused");
        assertTrue(browser.findElement(By.id("sharing")).getText().contains("private"));
        screenshot("refused");

        assertEquals(200, kiln.patch("/api/v1/jobs/" + adminJob, KilnServer.ADMIN, "{\"shared\": true}").status());
        browser.navigate().refresh();
        waiting().until(d -> d.findElement(By.id("log")).isDisplayed()
                && d.findElement(By.id("log")).getText().contains("shared with the lab by admin"));
        assertTrue(!browser.findElement(By.id("log-refused")).isDisplayed());

        browser.get(kiln.uri("/#/tokens").toString());
        waiting().until(d -> d.findElements(By.cssSelector("#tokens tr.token")).size() == 2);
        WebElement row = browser.findElement(By.cssSelector("#tokens tr.token[data-id='" + laptopId + "']"));
        assertTrue(row.getText().contains("laptop"), row.getText());
        assertTrue(browser.findElement(By.id("tokens")).getText().contains("(this browser's)"));
        assertTrue(!browser.getPageSource().contains(laptopToken) && !browser.getPageSource().contains(browserToken),
                "no secret on the page");
        screenshot("tokens");
        assertEquals(200, kiln.get("/api/v1/jobs", laptopToken).status());
        row.findElement(By.tagName("button")).click();
        browser.switchTo().alert().accept();
        waiting().until(d -> d.findElements(By.cssSelector("#tokens tr.token")).size() == 1);
        assertEquals(401, kiln.get("/api/v1/jobs", laptopToken).status(), "revoked from the page");
        assertEquals(200, kiln.get("/api/v1/jobs", browserToken).status(), "the other token still works");
        noPolicyViolations();
    }

    /**
     * What a TensorBoard or W&B user looks for (issue 16): two fine-tunes that differ only in {@code freeze} shown
     * as that one differing field; smoothing that changes what is drawn (the debiased moving average, the raw curve
     * kept behind it) and a log scale; the queue's filters in the URL with submitted time and duration; the job
     * page's spec, times, source job and Clone that submits the edited spec; one progress vocabulary; and a running
     * job's log showing its epoch lines while it runs.
     */
    @Test
    void compareDiffSmoothingFiltersCloneAndALiveLog() throws IOException {
        String base = kiln.submit(TestData.spec("ft-base", "tiny", 2));
        kiln.awaitState(base, "SUCCEEDED", TIMEOUT);
        String free = kiln.submit(fineTune("ft-free", base, ""));
        String frozen = kiln.submit(fineTune("ft-frozen", base, ",\"freeze\":\"all-but-last\""));
        kiln.awaitState(free, "SUCCEEDED", TIMEOUT);
        kiln.awaitState(frozen, "SUCCEEDED", TIMEOUT);
        // the fine-tunes' logs count trainable and frozen parameters: the frozen one has all but its last layer's
        String frozenLog = kiln.get("/api/v1/jobs/" + frozen + "/log", KilnServer.ADMIN).body();
        assertTrue(frozenLog.matches("(?s).*parameters: 68 trainable, \\d+ frozen.*") && !frozenLog.contains(" 0 frozen"), frozenLog);
        assertTrue(kiln.get("/api/v1/jobs/" + free + "/log", KilnServer.ADMIN).body().contains(" trainable, 0 frozen"));
        signIn(KilnServer.ADMIN, "admin");

        // The spec diff: the one field that differs, and nothing else (the names are the columns).
        browser.get(kiln.uri("/#/compare?ids=" + free + "," + frozen + "&metric=loss&x=step").toString());
        waiting().until(d -> d.findElements(By.cssSelector("#spec-diff tbody tr[data-path]")).size() == 1
                && points("chart-compare", 1) > 5);
        WebElement diff = browser.findElement(By.cssSelector("#spec-diff tbody tr[data-path]"));
        assertEquals("init.freeze", diff.getDomAttribute("data-path"));
        assertEquals("init.freeze (not set) \"all-but-last\"", diff.getText());
        // Unsmoothed, the drawn curve is the job's per-step loss; the raw one behind it is the same.
        JsonNode steps = kiln.get("/api/v1/jobs/" + free + "/metrics?maxPoints=400", KilnServer.ADMIN).json().get("steps");
        assertSeries(steps, "loss", values("chart-compare", 0));
        assertSeries(steps, "loss", values("chart-compare", 1));
        ((JavascriptExecutor) browser).executeScript("const s = document.getElementById('compare-smoothing');"
                + "s.value = '0.9'; s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change'));");
        List<Double> raw = values("chart-compare", 0);
        List<Double> smoothed = values("chart-compare", 1);
        assertSeries(steps, "loss", raw);
        double last = 0;
        double debias = 0;
        for (int i = 0; i < raw.size(); i++) {
            last = last * 0.9 + 0.1 * raw.get(i);
            debias = debias * 0.9 + 0.1;
            assertEquals(last / debias, smoothed.get(i), 1e-9, "smoothed point " + i);
        }
        assertEquals(raw.get(0), smoothed.get(0), 1e-12, "debiased: the first point is not pulled towards 0");
        assertTrue(browser.getCurrentUrl().contains("smooth=0.9"), browser.getCurrentUrl());
        browser.findElement(By.id("compare-log")).click();
        waiting().until(d -> "logarithmic".equals(((JavascriptExecutor) d).executeScript(
                "const c = Chart.getChart('chart-compare'); return c && c.options.scales.y.type;")));
        assertTrue(browser.getCurrentUrl().contains("log=1") && browser.getCurrentUrl().contains("smooth=0.9"));
        screenshot("compare-diff");
        // the chart as PNG, the summary table and the jobs' per-epoch metrics as CSV (saved in any order)
        List<String> saved = new java.util.ArrayList<>(savedTypes(
                By.xpath("//canvas[@id='chart-compare']/ancestor::div[contains(@class,'card')]//button[text()='PNG']"),
                By.xpath("//button[text()='Table CSV']"), By.xpath("//button[text()='Metrics CSV']")));
        java.util.Collections.sort(saved);
        assertEquals(List.of("image/png", "text/csv", "text/csv"), saved);

        // Filters, kept in the URL; a row's submitted time and its duration across attempts.
        browser.get(kiln.uri("/#/jobs").toString());
        waiting().until(d -> d.findElements(By.cssSelector("#jobs tr.job")).size() >= 3);
        browser.findElement(By.id("filter-name")).sendKeys("FT-FRO");
        browser.findElement(By.cssSelector("#filters button")).click();
        waiting().until(d -> d.getCurrentUrl().contains("name=FT-FRO")
                && d.findElements(By.cssSelector("#jobs tr.job")).size() == 1);
        WebElement row = browser.findElement(By.cssSelector("#jobs tr.job"));
        assertEquals(frozen, row.getDomAttribute("data-id"));
        JsonNode frozenJob = kiln.get("/api/v1/jobs/" + frozen, KilnServer.ADMIN).json();
        assertTrue(frozenJob.path("runningSeconds").asDouble() > 0, frozenJob.toString());
        assertEquals(clock(frozenJob.path("runningSeconds").asDouble()), row.findElement(By.cssSelector("td.duration")).getText());
        assertTrue(!row.findElement(By.cssSelector("td.submitted")).getText().equals("–"));
        assertTrue(row.getText().contains("done · 1 epoch"), row.getText());
        browser.navigate().refresh();
        waiting().until(d -> d.findElements(By.cssSelector("#jobs tr.job")).size() == 1
                && "FT-FRO".equals(d.findElement(By.id("filter-name")).getDomProperty("value")));
        browser.get(kiln.uri("/#/jobs?state=SUCCEEDED&user=nobody").toString());
        waiting().until(d -> d.findElement(By.id("jobs")).getText().contains("No job matches these filters."));

        // The job page: its source job, spec and times; Clone opens Submit with the spec, edited and submitted.
        browser.get(kiln.uri("/#/job/" + frozen).toString());
        waiting().until(d -> d.findElement(By.id("job-spec")).getText().contains("all-but-last"));
        assertEquals("#/job/" + base, browser.findElement(By.id("source-job")).getDomAttribute("href"));
        assertTrue(browser.findElement(By.id("times")).getText().matches("submitted .+ · started .+ · finished .+"));
        assertEquals(clock(frozenJob.path("runningSeconds").asDouble()), browser.findElement(By.id("duration")).getText());
        // the test results from the report's numbers: the confusion matrix and each class's accuracy
        JsonNode summary = kiln.get("/api/v1/jobs/" + frozen + "/report/summary", KilnServer.ADMIN).json();
        int classes = summary.get("classes").size();
        waiting().until(d -> d.findElements(By.cssSelector("#job-confusion tbody tr")).size() == classes);
        for (int t = 0; t < classes; t++) {
            List<WebElement> cells = browser.findElements(By.cssSelector("#job-confusion tbody tr:nth-child(" + (t + 1) + ") td"));
            assertEquals(classes + 1, cells.size());
            for (int p = 0; p < classes; p++) {
                assertEquals(summary.get("confusion").get(t).get(p).asText(), cells.get(p).getText(), "cell " + t + "," + p);
            }
            assertEquals(String.format(java.util.Locale.ROOT, "%.3f", summary.get("perClassAccuracy").get(t).asDouble()),
                    cells.get(classes).getText());
        }
        screenshot("job-finetune");
        browser.findElement(By.id("clone")).click();
        waiting().until(d -> d.getCurrentUrl().contains("#/submit?from=" + frozen)
                && d.findElement(By.id("spec")).getDomProperty("value").contains("all-but-last"));
        ((JavascriptExecutor) browser).executeScript("const t = document.getElementById('spec');"
                + "t.value = t.value.replace('\"ft-frozen\"', '\"ft-frozen-again\"');");
        browser.findElement(By.id("submit")).click();
        waiting().until(d -> d.getCurrentUrl().matches(".*#/job/\\d+") && !d.getCurrentUrl().endsWith("/" + frozen));
        String clone = browser.getCurrentUrl().replaceAll(".*#/job/", "");
        JsonNode cloned = kiln.get("/api/v1/jobs/" + clone, KilnServer.ADMIN).json();
        assertEquals("ft-frozen-again", cloned.path("name").asText());
        assertEquals("all-but-last", cloned.path("spec").path("init").path("freeze").asText());
        assertEquals(base, cloned.path("spec").path("init").path("fromJob").asText());
        kiln.awaitState(clone, "SUCCEEDED", TIMEOUT);

        // A running job's log shows its epoch lines while it runs; a cancelled job that ran has its curves.
        String running = kiln.submit(TestData.spec("long", "tiny", 400));
        browser.get(kiln.uri("/#/job/" + running).toString());
        waiting().until(d -> d.findElement(By.id("log")).getText().contains("epoch 2: train loss"));
        JsonNode during = kiln.get("/api/v1/jobs/" + running, KilnServer.ADMIN).json();
        assertEquals("RUNNING", during.path("state").asText(), "the epoch lines show while the job runs");
        assertTrue(during.path("progress").path("epoch").asInt() < 400);
        String bar = barText();
        assertTrue(bar.matches("\\d+% · epoch \\d+/400"), bar);
        // the one CPU slot is taken: a job submitted now waits in the queue, and is cancelled there
        String waits = kiln.submit(TestData.spec("waits", "tiny", 2));
        assertEquals("QUEUED", kiln.get("/api/v1/jobs/" + waits, KilnServer.ADMIN).json().path("state").asText());
        assertEquals(200, kiln.post("/api/v1/jobs/" + waits + "/cancel", KilnServer.ADMIN, "").status());
        assertEquals(200, kiln.post("/api/v1/jobs/" + running + "/cancel", KilnServer.ADMIN, "").status());
        kiln.awaitState(running, "CANCELLED", TIMEOUT);
        waiting().until(d -> "CANCELLED".equals(d.findElement(By.tagName("body")).getDomAttribute("data-job-state")));
        assertTrue(browser.findElement(By.id("curves")).isDisplayed(), "a job that trained keeps its curves");
        bar = barText();
        assertTrue(bar.matches("cancelled · \\d+/400 epochs done"), bar);

        browser.get(kiln.uri("/#/job/" + waits).toString());
        waiting().until(d -> d.findElement(By.id("no-curves")).isDisplayed());
        assertEquals("No learning curves: the job never ran.", browser.findElement(By.id("no-curves")).getText());
        assertTrue(!browser.findElement(By.id("curves")).isDisplayed(), "no empty charts for a job that never ran");
        assertEquals("cancelled before it started", barText());

        // One vocabulary for every state, including the ones no job here reaches.
        Object labels = ((JavascriptExecutor) browser).executeAsyncScript("const done = arguments[arguments.length - 1];"
                + "import('/assets/js/job-parts.js').then((m) => done([m.progressLabel({state: 'QUEUED', attempts: 0, progress: {epoch: 0, epochs: 2}}),"
                + "m.progressLabel({state: 'CANCELLED', attempts: 0, progress: {epoch: 0, epochs: 2}}),"
                + "m.progressLabel({state: 'FAILED', attempts: 1, progress: {epoch: 1, epochs: 1, step: 0, steps: 10}}),"
                + "m.progressLabel({state: 'QUEUED', attempts: 1, progress: {epoch: 4, epochs: 9, resumedAfterEpoch: 3}})]));");
        assertEquals(List.of("queued", "cancelled before it started", "failed · 0/1 epochs done",
                "queued · resumes after epoch 3/9"), labels);
        noPolicyViolations();
    }

    /** The dashboard's m:ss for a number of seconds. */
    static String clock(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? (s / 3600) + "h" + String.format("%02d", s % 3600 / 60) : (s / 60) + ":" + String.format("%02d", s % 60);
    }

    /** A one-epoch fine-tune of job {@code from} on the generated data; {@code extra} goes into {@code init}. */
    static String fineTune(String name, String from, String extra) {
        return TestData.spec(name, "tiny", 1).replace("\"device\":\"cpu\"}",
                "\"device\":\"cpu\",\"init\":{\"fromJob\":\"" + from + "\"" + extra + "}}");
    }

    /**
     * The Sweeps page lists a sweep and opens it; its chart draws the chosen metric against the swept value (a
     * log scale for a learning rate), a sweep over two parameters is a heat map, the retraining shows, and the
     * PNG and CSV buttons save files of their kind.
     */
    @Test
    void theSweepsPageListsSweepsAndChartsTheMetricAgainstTheSweptValue() throws IOException {
        signIn(KilnServer.ADMIN, "admin");
        KilnServer.Answer one = kiln.post("/api/v1/sweeps", KilnServer.ADMIN, "{\"name\":\"widths\",\"base\":"
                + TestData.spec("wd", "tiny", 2) + ",\"grid\":{\"model.layers[1].units\":[4,8,32]}}");
        assertEquals(201, one.status(), one.body());
        String oneId = one.json().get("id").asText();
        KilnServer.Answer two = kiln.post("/api/v1/sweeps", KilnServer.ADMIN, "{\"name\":\"grid2\",\"base\":"
                + TestData.spec("g2", "tiny", 2) + ",\"grid\":{\"model.layers[1].units\":[4,16],\"optimizer.lr\":[0.1,0.01]},"
                + "\"retrain\":true}");
        assertEquals(201, two.status(), two.body());
        String twoId = two.json().get("id").asText();

        browser.get(kiln.uri("/#/sweeps").toString());
        waiting().until(d -> d.findElements(By.cssSelector("#sweeps tbody tr.job")).size() >= 2);
        List<WebElement> rows = browser.findElements(By.cssSelector("#sweeps tbody tr.job"));
        assertTrue(rows.get(0).getText().startsWith(twoId + " grid2"), "newest first: " + rows.get(0).getText());
        assertTrue(rows.stream().anyMatch(r -> r.getText().startsWith(oneId + " widths")));
        // The rows are drawn anew at every poll: the link is clicked where it is now.
        script("document.querySelector(\"#sweeps a[href='#/sweep/" + oneId + "']\").click();");
        waiting().until(d -> d.getCurrentUrl().endsWith("#/sweep/" + oneId)
                && d.findElements(By.cssSelector("#view > p.muted .state.SUCCEEDED")).size() == 1
                && points("chart-sweep", 0) == 3);
        JsonNode done = kiln.get("/api/v1/sweeps/" + oneId, KilnServer.ADMIN).json();
        // x is the swept value (4, 8, 32 units, linearly: 8x apart), y each point's best validation accuracy.
        assertEquals(List.of(4.0, 8.0, 32.0), xs("chart-sweep", 0));
        List<Double> expected = new java.util.ArrayList<>();
        done.get("points").forEach(p -> expected.add(p.get("bestValAcc").asDouble()));
        assertEquals(expected, values("chart-sweep", 0));
        assertEquals("linear", script("return Chart.getChart('chart-sweep').options.scales.x.type;"));
        // The tiny set's accuracies may all be 1: the points' training times tell the metrics apart.
        new org.openqa.selenium.support.ui.Select(browser.findElement(By.id("sweep-metric"))).selectByValue("seconds");
        List<Double> seconds = new java.util.ArrayList<>();
        done.get("points").forEach(p -> seconds.add(p.get("seconds").asDouble()));
        waiting().until(d -> values("chart-sweep", 0).equals(seconds));
        assertEquals("logarithmic", script("return import('/assets/js/sweep.js').then(m => m.axisOf('optimizer.lr', [0.1, 0.01, 0.001]));"),
                "a learning rate is drawn on a log scale");
        assertEquals(List.of("image/png", "text/csv"), savedTypes(
                By.xpath("//canvas[@id='chart-sweep']/ancestor::div[contains(@class,'card')]//button[text()='PNG']"),
                By.xpath("//button[text()='CSV']")));
        screenshot("sweep-chart");

        browser.get(kiln.uri("/#/sweep/" + twoId).toString());
        waiting().until(d -> d.findElements(By.cssSelector("#view > p.muted .state.SUCCEEDED")).size() == 1
                && d.findElement(By.id("retrained")).getText().matches("(?s).*test accuracy \\d\\.\\d{4}.*"));
        JsonNode grid = kiln.get("/api/v1/sweeps/" + twoId, KilnServer.ADMIN).json();
        waiting().until(d -> d.findElement(By.id("heatmap-sweep")).getDomAttribute("aria-label").contains("units=16, lr=0.01"));
        String cells = browser.findElement(By.id("heatmap-sweep")).getDomAttribute("aria-label");
        for (JsonNode p : grid.get("points")) {
            String cell = "units=" + p.get("values").get("model.layers[1].units").asText() + ", lr="
                    + p.get("values").get("optimizer.lr").asText() + ": "
                    + String.format(java.util.Locale.ROOT, "%.4f", p.get("bestValAcc").asDouble());
            assertTrue(cells.contains(cell), cell + " in " + cells);
        }
        assertTrue(browser.findElement(By.id("retrained")).getText().contains(
                String.format(java.util.Locale.ROOT, "%.4f", grid.get("retrained").get("testAcc").asDouble())));
        assertEquals(List.of("image/png"), savedTypes(By.xpath("//canvas[@id='heatmap-sweep']/ancestor::div[contains(@class,'card')]//button[text()='PNG']")));
        screenshot("sweep-heatmap");
        noPolicyViolations();
    }

    /** The progress bar's words, read in one step: the page draws the bar anew at every poll. */
    String barText() {
        return (String) script("const e = document.querySelector('.bar em'); return e ? e.textContent : '';");
    }

    Object script(String js) {
        return ((JavascriptExecutor) browser).executeScript(js);
    }

    /** Clicks each button and returns the type of the file it saved (the blob given to a download link). */
    List<String> savedTypes(By... buttons) {
        script("window.savedBlobs = []; if (!window.realCreateObjectURL) { window.realCreateObjectURL = URL.createObjectURL;"
                + " URL.createObjectURL = (b) => { window.savedBlobs.push(b.type + ' ' + b.size); return window.realCreateObjectURL(b); }; }");
        for (By b : buttons) {
            browser.findElement(b).click();
        }
        waiting().until(d -> ((List<?>) script("return window.savedBlobs;")).size() == buttons.length);
        List<String> types = new java.util.ArrayList<>();
        for (Object saved : (List<?>) script("return window.savedBlobs;")) {
            String[] typeAndSize = saved.toString().split(" ");
            assertTrue(Long.parseLong(typeAndSize[1]) > 100, "a file with something in it: " + saved);
            types.add(typeAndSize[0].replaceAll(";.*", ""));
        }
        return types;
    }

    /** The x values drawn in dataset {@code index} of the chart on canvas {@code id}. */
    List<Double> xs(String canvasId, int index) {
        Object v = script("return Chart.getChart('" + canvasId + "').data.datasets[" + index + "].data.map(p => p.x);");
        return ((List<?>) v).stream().map(n -> ((Number) n).doubleValue()).toList();
    }

    /** Points drawn in dataset {@code index} of the Chart.js chart on canvas {@code id} (-1 when absent). */
    long points(String canvasId, int index) {
        Object n = ((JavascriptExecutor) browser).executeScript(
                "const c = Chart.getChart(arguments[0]); return c && c.data.datasets[arguments[1]] "
                        + "? c.data.datasets[arguments[1]].data.length : -1;", canvasId, index);
        return ((Number) n).longValue();
    }

    /** The y values drawn in dataset {@code index} of the chart on canvas {@code id}. */
    List<Double> values(String canvasId, int index) {
        Object v = ((JavascriptExecutor) browser).executeScript(
                "return Chart.getChart(arguments[0]).data.datasets[arguments[1]].data.map(p => p.y);", canvasId, index);
        return ((List<?>) v).stream().map(n -> ((Number) n).doubleValue()).toList();
    }

    static void assertSeries(JsonNode points, String field, List<Double> drawn) {
        List<Double> expected = new java.util.ArrayList<>();
        points.forEach(p -> expected.add(p.get(field).asDouble()));
        assertEquals(expected.size(), drawn.size(), field + ": " + drawn);
        for (int i = 0; i < drawn.size(); i++) {
            assertEquals(expected.get(i), drawn.get(i), 1e-12, field + " point " + i);
        }
    }

    void screenshot(String name) throws IOException {
        File png = browser.getScreenshotAs(OutputType.FILE);
        Path target = Path.of("target", "dashboard-" + name + ".png");
        Files.createDirectories(target.getParent());
        Files.copy(png.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
    }
}
