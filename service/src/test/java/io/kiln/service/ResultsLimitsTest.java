package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.DeflaterOutputStream;
import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * What a trained job gives back, asked for as a hostile user would, over real HTTP: any number of report images
 * costs at most the few cached sizes and kiln.report-cache-bytes a job; a damaged checkpoint is a 409 saying so;
 * prediction images are refused by their header's size before they are decoded, and by count and bytes.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(300)
class ResultsLimitsTest {
    static final long MB = 1L << 20;
    Path home;
    @AutoClose
    KilnServer kiln;
    String job;

    @BeforeAll
    void start() throws IOException {
        kiln = KilnServer.onTinyData("kiln-results-limits", 600, 200, Map.of("kiln.predict-max-image-bytes", "65536"));
        home = kiln.home();
        job = kiln.submit(TestData.spec("trained", "tiny", 2));
        kiln.awaitState(job, "SUCCEEDED", Duration.ofSeconds(120));
    }

    List<Path> reports(String id) throws IOException {
        try (Stream<Path> s = Files.list(home.resolve("jobs").resolve(id))) {
            return s.filter(p -> p.getFileName().toString().startsWith("report-")).sorted().toList();
        }
    }

    static long bytes(List<Path> files) throws IOException {
        long n = 0;
        for (Path p : files) {
            n += Files.size(p);
        }
        return n;
    }

    static int images(String html) {
        Matcher m = Pattern.compile("<img ").matcher(html);
        int n = 0;
        while (m.find()) {
            n++;
        }
        return n;
    }

    @Test
    void anyImagesValueRendersOneOfAFewSizesAndTheCacheStaysBounded() throws Exception {
        int[] asked = {0, 1, 7, 19, 20, 21, 50, 99, 100, 101, 250, 499, 500, 501, 1999, 2000, 1_000_000};
        for (int n : asked) {
            KilnServer.Answer r = kiln.get("/api/v1/jobs/" + job + "/report?images=" + n, KilnServer.ADMIN);
            assertEquals(200, r.status(), "images=" + n + ": " + r.body());
            int expected = Math.min(n <= 20 ? 20 : n <= 100 ? 100 : 500, 200);
            assertEquals(expected, images(r.body()), "images=" + n + " is rounded up to a cached size (the test set has 200)");
        }
        List<Path> files = reports(job);
        assertEquals(List.of("report-100.html", "report-20.html", "report-500.html"),
                files.stream().map(p -> p.getFileName().toString()).toList(), "one file per size, whatever was asked");
        System.out.println("reports of 20, 100 and 500 images: " + bytes(files) + " bytes");
        assertEquals(400, kiln.get("/api/v1/jobs/" + job + "/report?images=-1", KilnServer.ADMIN).status());
    }

    @Test
    void aJobsReportsAreKeptWithinTheConfiguredBytes() throws Exception {
        // Room for the reports of 20 and 100 images, not for that of 500 as well.
        long bound = 60_000;
        try (KilnServer small = KilnServer.onTinyData("kiln-report-cache", 600, 200,
                Map.of("kiln.report-cache-bytes", Long.toString(bound)))) {
            String id = small.submit(TestData.spec("cached", "tiny", 1));
            small.awaitState(id, "SUCCEEDED", Duration.ofSeconds(120));
            Path dir = small.home().resolve("jobs").resolve(id);
            for (int n : new int[] {20, 100, 500, 20, 100, 500, 20}) {
                KilnServer.Answer r = small.get("/api/v1/jobs/" + id + "/report?images=" + n, KilnServer.ADMIN);
                assertEquals(200, r.status(), r.body());
                List<Path> kept;
                try (Stream<Path> s = Files.list(dir)) {
                    kept = s.filter(p -> p.getFileName().toString().startsWith("report-")).toList();
                }
                assertTrue(bytes(kept) <= bound, "after images=" + n + " the job keeps " + bytes(kept) + " bytes of reports: "
                        + kept);
            }
        }
    }

    @Test
    void aDamagedCheckpointIsA409SayingSo() throws Exception {
        String id = kiln.submit(TestData.spec("damaged", "tiny", 1));
        kiln.awaitState(id, "SUCCEEDED", Duration.ofSeconds(120));
        assertEquals(200, kiln.get("/api/v1/jobs/" + id + "/report?images=20", KilnServer.ADMIN).status());
        Path ckpt = home.resolve("jobs").resolve(id).resolve("checkpoint.kiln");
        try (FileChannel c = FileChannel.open(ckpt, StandardOpenOption.WRITE)) {
            c.write(ByteBuffer.wrap(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}), c.size() - 64);
        }
        Files.setLastModifiedTime(ckpt, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 2000));
        KilnServer.Answer report = kiln.get("/api/v1/jobs/" + id + "/report?images=20", KilnServer.ADMIN);
        assertEquals(409, report.status(), report.body());
        String m = report.json().path("message").asText();
        assertTrue(m.contains("job " + id + "'s checkpoint is damaged") && m.contains("CRC-32"), m);
        KilnServer.Answer predict = predict(id, List.of(png(8, 8)));
        assertEquals(409, predict.status(), predict.body());
        assertTrue(predict.json().path("message").asText().contains("checkpoint is damaged"), predict.body());

        Files.write(ckpt, "not a checkpoint".getBytes(StandardCharsets.UTF_8));
        KilnServer.Answer junk = kiln.get("/api/v1/jobs/" + id + "/report?images=100", KilnServer.ADMIN);
        assertEquals(409, junk.status(), junk.body());
        assertTrue(junk.json().path("message").asText().contains("checkpoint is damaged"), junk.body());
    }

    @Test
    void anImageOf40000By40000PixelsIsRefusedFromItsHeaderUndecoded() throws Exception {
        byte[] huge = pngHeader(40_000, 40_000);
        assertTrue(huge.length < 1000, "a few hundred bytes declaring 1.6 billion pixels: " + huge.length);
        long before = allocatedBytes();
        KilnServer.Answer a = predict(job, List.of(huge, huge));
        long allocated = allocatedBytes() - before;
        assertEquals(400, a.status(), a.body());
        assertEquals("images", a.json().path("field").asText());
        assertTrue(a.json().path("message").asText().contains("40000x40000 = 1,600,000,000 pixels, more than 16,777,216 "
                + "(kiln.predict-max-pixels)"), a.body());
        System.out.println("two 40000x40000 images refused: " + allocated / MB + " MB allocated by all threads");
        assertTrue(allocated < 64 * MB, allocated / MB + " MB allocated");
    }

    @Test
    void imagesBeyondTheCountOrTheBytesAreRefused() throws Exception {
        List<byte[]> many = new ArrayList<>();
        for (int i = 0; i < 65; i++) {
            many.add(png(8, 8));
        }
        KilnServer.Answer count = predict(job, many);
        assertEquals(400, count.status(), count.body());
        assertTrue(count.json().path("message").asText().contains("at most 64 per request (kiln.predict-max-images), got 65"),
                count.body());
        byte[] big = new byte[100_000];
        System.arraycopy(png(8, 8), 0, big, 0, 50);
        KilnServer.Answer bytes = predict(job, List.of(big));
        assertEquals(413, bytes.status(), bytes.body());
        assertTrue(bytes.json().path("message").asText().contains("is 100000 bytes, more than 65536 (kiln.predict-max-image-bytes)"),
                bytes.body());
        KilnServer.Answer text = predict(job, List.of("not an image".getBytes(StandardCharsets.UTF_8)));
        assertEquals(400, text.status(), text.body());
        assertTrue(text.json().path("message").asText().contains("is not a PNG or JPEG image"), text.body());
        KilnServer.Answer ok = predict(job, List.of(png(8, 8), png(28, 28)));
        assertEquals(200, ok.status(), ok.body());
        assertEquals(2, ok.json().path("predictions").size());
    }

    KilnServer.Answer predict(String id, List<byte[]> images) throws IOException, InterruptedException {
        String boundary = "kiln" + UUID.randomUUID();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (int i = 0; i < images.size(); i++) {
            body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"images\"; filename=\"img" + i
                    + ".png\"\r\nContent-Type: image/png\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            body.writeBytes(images.get(i));
            body.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        body.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        HttpRequest req = HttpRequest.newBuilder(URI.create(kiln.uri("/api/v1/jobs/" + id + "/predict").toString()))
                .timeout(Duration.ofSeconds(60)).header("Authorization", "Bearer " + KilnServer.ADMIN)
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build();
        HttpResponse<String> r = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()
                .send(req, HttpResponse.BodyHandlers.ofString());
        return new KilnServer.Answer(r.statusCode(), r.body());
    }

    static byte[] png(int w, int h) throws IOException {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        img.getRaster().setSample(w / 2, h / 2, 0, 255);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    /** A PNG whose header declares {@code w} x {@code h} grey pixels, with a few bytes of image data. */
    static byte[] pngHeader(int w, int h) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 0).put((byte) 0)
                .put((byte) 0).put((byte) 0);
        chunk(out, "IHDR", ihdr.array());
        ByteArrayOutputStream z = new ByteArrayOutputStream();
        try (DeflaterOutputStream d = new DeflaterOutputStream(z)) {
            d.write(new byte[64]);
        }
        chunk(out, "IDAT", z.toByteArray());
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getTotalThreadAllocatedBytes();
    }
}
