package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Dataset uploads as a hostile user sends them, over real HTTP to a server with a 1 MiB archive limit and one
 * upload at a time: bombs are refused costing little memory and disk, every broken archive is a 400 saying what is
 * wrong, and no refused upload leaves anything behind in the data root.
 */
@Timeout(300)
class UploadLimitsTest extends DatasetUploads {
    static final long MB = 1L << 20;
    Path idx;

    @BeforeAll
    void start() throws IOException {
        startServer("kiln-upload-limits", Map.of("kiln.upload-limit-bytes", Long.toString(MB),
                "kiln.max-concurrent-uploads", "1"));
        idx = TestData.write(Files.createTempDirectory("kiln-upload-src"), "tiny", 100, 40, 4);
    }

    static void refused(KilnServer.Answer a, int status, String... words) {
        assertEquals(status, a.status(), a.body());
        JsonNode j = a.json();
        assertEquals("file", j.path("field").asText(), a.body());
        for (String w : words) {
            assertTrue(j.path("message").asText().contains(w), "\"" + w + "\" in " + j.path("message").asText());
        }
    }

    static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getTotalThreadAllocatedBytes();
    }

    /** Bytes this process has written with write(2) and the like, to files or sockets (Linux's /proc/self/io). */
    static long bytesWritten() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/io"))) {
            if (line.startsWith("wchar:")) {
                return Long.parseLong(line.substring(6).trim());
            }
        }
        throw new IllegalStateException("no wchar in /proc/self/io");
    }

    @Test
    void twoLongNameBombsAtOnceAreRefusedUnreadCostingLittleHeap() throws Exception {
        // 917 KB of gzip: a GNU long-name entry declaring, and holding, 900 MB of name.
        long declared = 900 * MB;
        byte[] bomb = Archives.gzipThenZeros(Archives.tarHeader("././@LongLink", 'L', declared), declared);
        assertTrue(bomb.length < MB, "the bomb fits the 1 MiB upload limit: " + bomb.length);
        long before = allocatedBytes();
        CompletableFuture<KilnServer.Answer> one = CompletableFuture.supplyAsync(() -> upload("bomb-1", "bomb.tar.gz", bomb));
        CompletableFuture<KilnServer.Answer> two = CompletableFuture.supplyAsync(() -> upload("bomb-2", "bomb.tar.gz", bomb));
        List<KilnServer.Answer> answers = List.of(one.join(), two.join());
        long allocated = allocatedBytes() - before;
        for (KilnServer.Answer a : answers) {
            if (a.status() == 429) {
                // One upload at a time: the second waited for none and was told to come back.
                assertTrue(a.json().path("message").asText().contains("kiln.max-concurrent-uploads"), a.body());
                continue;
            }
            refused(a, 400, "GNU long name is " + declared + " bytes long", "more than 4096 (kiln.upload-max-name-bytes)",
                    "refused without reading it");
        }
        KilnServer.Answer again = upload("bomb-3", "bomb.tar.gz", bomb);
        refused(again, 400, "GNU long name");
        System.out.println("three long-name bombs of " + bomb.length + " bytes: " + allocated / MB + " MB allocated by all threads");
        assertTrue(allocated < 64 * MB, "all threads together allocated " + allocated / MB + " MB for the bombs");
        assertFalse(Files.exists(dataRoot.resolve("bomb-1")) || Files.exists(dataRoot.resolve("bomb-2")));
        assertEquals(200, kiln.get("/health", null).status(), "the service is well");
    }

    @Test
    void aPaxHeaderBombIsRefusedUnread() {
        long declared = 500 * MB;
        byte[] bomb = Archives.gzipThenZeros(Archives.tarHeader("PaxHeaders/x", 'x', declared), declared);
        refused(upload("pax-bomb", "pax.tgz", bomb), 400, "PAX extended header is " + declared + " bytes long");
    }

    /** The bytes that a refused bomb wrote: the figure its message gives, and what the process wrote meanwhile. */
    long bombWrites(String name, String fileName, byte[] bomb) throws IOException {
        long before = bytesWritten();
        KilnServer.Answer a = upload(name, fileName, bomb);
        long written = bytesWritten() - before;
        refused(a, 400, "expands more than 100 times (kiln.upload-max-expansion)");
        Matcher m = Pattern.compile("refused after writing ([0-9.]+) MiB").matcher(a.json().path("message").asText());
        assertTrue(m.find(), a.body());
        double said = Double.parseDouble(m.group(1));
        System.out.println(fileName + " bomb of " + bomb.length + " bytes: refused after writing " + said + " MiB; the process "
                + "wrote " + written + " bytes meanwhile");
        assertTrue(said < 16, "the message says " + said + " MiB written");
        assertTrue(written < 16 * MB, "the process wrote " + written / MB + " MB while refusing the bomb");
        assertFalse(Files.exists(dataRoot.resolve(name)));
        return written;
    }

    @Test
    void a300KbZipBombWritesLessThan16Mb() throws IOException {
        byte[] bomb = Archives.zipOfZeros("zeros.bin", 300 * MB);
        assertTrue(bomb.length < 400_000, "about 300 KB: " + bomb.length);
        bombWrites("zip-bomb", "bomb.zip", bomb);
    }

    @Test
    void a300KbTarGzBombWritesLessThan16Mb() throws IOException {
        byte[] bomb = Archives.gzipThenZeros(Archives.tarHeader("zeros.bin", '0', 300 * MB), 300 * MB);
        assertTrue(bomb.length < 400_000, "about 300 KB: " + bomb.length);
        bombWrites("tgz-bomb", "bomb.tar.gz", bomb);
    }

    @Test
    void anArchiveOverTheUploadLimitIs413() {
        byte[] noise = new byte[(int) (MB + MB / 2)];
        new Random(1).nextBytes(noise);
        KilnServer.Answer a = upload("too-big", "big.tar", Archives.tar(Archives.tarEntry("noise.bin", '0', noise)));
        assertEquals(413, a.status(), a.body());
        assertTrue(a.json().path("message").asText().contains("larger than 1.0 MiB (kiln.upload-limit-bytes)"), a.body());
    }

    @Test
    void everyBrokenArchiveIsA400SayingWhatIsWrong() throws IOException {
        byte[] tar = tarOf(idx, "tiny/", TarArchiveOutputStream.LONGFILE_ERROR);
        refused(upload("not-gzip", "data.tar.gz", tar), 400, "not a readable gzip-compressed tar archive", "GZIP");
        refused(upload("cut-tar", "data.tar", java.util.Arrays.copyOf(tar, 1500)), 400, "truncated");
        byte[] gz = gzip(tar);
        refused(upload("cut-gz", "data.tar.gz", java.util.Arrays.copyOf(gz, gz.length / 2)), 400, "gzip-compressed tar");
        byte[] noise = new byte[4000];
        new Random(2).nextBytes(noise);
        refused(upload("noise-zip", "data.zip", noise), 400, "zip archive");
        refused(upload("noise-tar", "data.tar", noise), 400, "tar archive");
        refused(upload("empty-zip", "data.zip", new byte[22]), 400, "zip archive");
        refused(upload("rar", "data.rar", tar), 400, "not a .zip, .tar, .tar.gz or .tgz archive");
        refused(upload("link", "link.tar", Archives.tar(Archives.tarEntry("evil", '2', new byte[0]))), 400,
                "link or special file");
        refused(upload("escape", "escape.tar", Archives.tar(Archives.tarEntry("../../escape.txt", '0', new byte[] {1}))),
                400, "outside the dataset folder");
        assertFalse(Files.exists(home.resolve("escape.txt")));
        try (Stream<Path> s = Files.list(dataRoot)) {
            assertEquals(List.of(), s.toList(), "nothing was installed");
        }
    }

    @Test
    void gnuAndPaxLongNamesWithinTheLimitAreRead() throws IOException {
        for (int mode : new int[] {TarArchiveOutputStream.LONGFILE_GNU, TarArchiveOutputStream.LONGFILE_POSIX}) {
            String folder = "a-folder-with-a-long-name-".repeat(8) + mode + "/";
            String name = "long-" + mode;
            KilnServer.Answer a = upload(name, "long.tar.gz", gzip(tarOf(idx, folder, mode)));
            assertEquals(201, a.status(), a.body());
            assertEquals(100, a.json().path("train").asInt(), a.body());
            assertTrue(Files.isRegularFile(dataRoot.resolve(name).resolve("train-images-idx3-ubyte.gz"))
                    || Files.isRegularFile(dataRoot.resolve(name).resolve("train-images-idx3-ubyte")), "the folder's files");
        }
    }

    @Test
    void aNameBeingUploadedIs409AnotherUploadMeanwhile429AndTheListingHidesIt() throws Exception {
        byte[] archive = tarOf(idx, "tiny/", TarArchiveOutputStream.LONGFILE_ERROR);
        String boundary = "kiln" + UUID.randomUUID();
        byte[] body = ApiTestSupport.multipartBody(boundary, Map.of("name", "slow"), "file", "slow.tar", archive);
        int half = body.length - archive.length / 2;
        try (Socket s = new Socket("localhost", kiln.port())) {
            s.setSoTimeout(60_000);
            OutputStream out = s.getOutputStream();
            out.write(("POST /api/v1/datasets HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + KilnServer.ADMIN
                    + "\r\nContent-Type: multipart/form-data; boundary=" + boundary + "\r\nContent-Length: " + body.length
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body, 0, half);
            out.flush();
            awaitUnpackingFolder();

            KilnServer.Answer same = upload("slow", "other.tar", archive);
            assertEquals(409, same.status(), same.body());
            assertTrue(same.json().path("message").asText().contains("being uploaded by another request"), same.body());
            KilnServer.Answer other = upload("other", "other.tar", archive);
            assertEquals(429, other.status(), other.body());
            JsonNode list = kiln.get("/api/v1/datasets", KilnServer.ADMIN).json();
            assertEquals(0, list.size(), "the unpacking folder is not a dataset: " + list);

            out.write(body, half, body.length - half);
            out.flush();
            String response = new String(readAll(s.getInputStream()), StandardCharsets.UTF_8);
            assertTrue(response.startsWith("HTTP/1.1 201"), response);
        }
        JsonNode list = kiln.get("/api/v1/datasets", KilnServer.ADMIN).json();
        assertEquals("slow", list.get(0).path("name").asText(), list.toString());
        assertEquals(201, upload("other", "other.tar", archive).status(), "a slot is free again");
        KilnServer.Answer taken = upload("slow", "again.tar", archive);
        assertEquals(409, taken.status());
        assertTrue(taken.json().path("message").asText().contains("already exists"), taken.body());
    }

    private void awaitUnpackingFolder() throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < end) {
            try (Stream<Path> s = Files.list(dataRoot)) {
                if (s.anyMatch(p -> p.getFileName().toString().startsWith(".upload-"))) {
                    return;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the upload did not start unpacking while its body was still arriving");
    }

    private static byte[] readAll(InputStream in) throws IOException {
        return in.readAllBytes();
    }

    static byte[] tarOf(Path dir, String prefix, int longFileMode) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out); Stream<Path> files = Files.list(dir)) {
            tar.setLongFileMode(longFileMode);
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                TarArchiveEntry e = new TarArchiveEntry(prefix + f.getFileName());
                byte[] bytes = Files.readAllBytes(f);
                e.setSize(bytes.length);
                tar.putArchiveEntry(e);
                tar.write(bytes);
                tar.closeArchiveEntry();
            }
        }
        return out.toByteArray();
    }

    static byte[] gzip(byte[] bytes) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(bytes);
        }
        return out.toByteArray();
    }
}
