package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Dataset uploads (POST /datasets) over real HTTP: zip, tar and tar.gz archives of a generated IDX dataset are
 * installed and read back; hostile or broken archives are refused with a 400 naming the problem, and leave
 * nothing behind in the data root. An archive may unpack to 4 MiB here (kiln.upload-max-unpacked-bytes), for the
 * limit to be reachable with small archives; UploadLimitsTest has the expansion ratio and the bombs.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DatasetUploadTest extends DatasetUploads {
    static final long UPLOAD_LIMIT = 8 << 20;
    static final long EXPANSION_LIMIT = 4 << 20;
    Path source;

    @BeforeAll
    void start() throws IOException {
        startServer("kiln-uploads", Map.of("kiln.cpu-slot", "off", "kiln.upload-limit-bytes",
                String.valueOf(UPLOAD_LIMIT), "kiln.upload-max-unpacked-bytes", String.valueOf(EXPANSION_LIMIT)));
        source = TestData.write(home.resolve("source"), "small", 100, 40, 4);
    }

    @Test
    void aZipTarAndTarGzOfOneDatasetAreEachInstalled() throws IOException {
        byte[] zip = zip("small/", Files.list(source).sorted().toList());
        byte[] tar = new TarArchive().folder("small").files(source, "small/").tar();
        byte[] tarGz = new TarArchive().files(source, "").tarGz();
        String[][] uploads = {{"zipped", "small.zip"}, {"tarred", "small.tar"}, {"gzipped", "small.tar.gz"}, {"tgz", "small.tgz"}};
        byte[][] bodies = {zip, tar, tarGz, tarGz};
        for (int i = 0; i < uploads.length; i++) {
            KilnServer.Answer a = upload(uploads[i][0], uploads[i][1], bodies[i]);
            assertEquals(201, a.status(), uploads[i][1] + ": " + a.body());
            JsonNode d = a.json();
            assertEquals(uploads[i][0], d.get("name").asText());
            assertEquals("idx", d.get("format").asText());
            assertEquals(100, d.get("train").asInt());
            assertEquals(40, d.get("test").asInt());
            assertEquals(4, d.get("classes").asInt());
            for (Path f : Files.list(source).toList()) {
                assertTrue(Arrays.equals(Files.readAllBytes(f), Files.readAllBytes(dataRoot.resolve(uploads[i][0]).resolve(f.getFileName()))),
                        uploads[i][1] + ": " + f.getFileName() + " arrives whole, at the dataset's top");
            }
        }
        JsonNode list = kiln.get("/api/v1/datasets", KilnServer.ADMIN).json();
        for (String[] u : uploads) {
            assertTrue(list.toString().contains("\"name\":\"" + u[0] + "\",\"format\":\"idx\""), list.toString());
        }
        KilnServer.Answer again = upload("tarred", "small.tar", tar);
        assertEquals(409, again.status(), again.body());
        assertEquals("name: dataset tarred already exists", again.json().get("message").asText(), again.body());
        assertEquals("name", again.json().get("field").asText(), again.body());
    }

    @ParameterizedTest
    @ValueSource(strings = {"../escape.txt", "small/../../escape.txt", "/tmp/kiln-escape.txt", "small\\..\\..\\escape.txt"})
    void anEntryOutsideTheDatasetFolderIsRefused(String name) throws IOException {
        byte[] x = "x".getBytes(StandardCharsets.UTF_8);
        for (String[] upload : new String[][] {{"evil.tar", ""}, {"evil.tar.gz", "gz"}, {"evil.zip", "zip"}}) {
            byte[] body = switch (upload[1]) {
                case "gz" -> new TarArchive().files(source, "").file(name, x).tarGz();
                case "zip" -> zipEntries(Map.of(name, x));
                default -> new TarArchive().files(source, "").file(name, x).tar();
            };
            KilnServer.Answer a = upload("evil", upload[0], body);
            assertEquals(400, a.status(), upload[0] + " " + name + ": " + a.body());
            // Commons Compress reads a zip entry's backslashes as the separators they mean.
            String read = upload[1].equals("zip") ? name.replace('\\', '/') : name;
            assertEquals("file: the archive entry " + read + " would be written outside the dataset folder",
                    a.json().get("message").asText(), upload[0]);
            assertEquals("file", a.json().get("field").asText());
        }
        assertFalse(Files.exists(home.resolve("escape.txt")) || Files.exists(dataRoot.resolve("escape.txt"))
                || Files.exists(Path.of("/tmp/kiln-escape.txt")), "nothing was written outside");
        assertFalse(Files.exists(dataRoot.resolve("evil")));
    }

    @ParameterizedTest
    @ValueSource(chars = {'2', '1', '3', '6'})
    void linksAndSpecialFilesAreRefused(char type) {
        byte[] tar = new TarArchive().files(source, "").link("shortcut", type, "/etc/passwd").tar();
        KilnServer.Answer a = upload("linked", "linked.tar", tar);
        assertEquals(400, a.status(), a.body());
        assertTrue(a.json().get("message").asText().contains("the archive entry shortcut is a link or special file"), a.body());
        assertFalse(Files.exists(dataRoot.resolve("linked")));
    }

    @Test
    void anArchiveThatExpandsPastTheLimitIsRefused() throws IOException {
        // A few hundred bytes uploaded, more than the limit once expanded: what the limit is for.
        byte[] zeros = new byte[(int) EXPANSION_LIMIT + 1];
        byte[] tarGz = new TarArchive().files(source, "").file("padding.bin", zeros).tarGz();
        assertTrue(tarGz.length < UPLOAD_LIMIT / 10, "the upload itself is small: " + tarGz.length);
        KilnServer.Answer a = upload("bomb", "bomb.tar.gz", tarGz);
        assertEquals(400, a.status(), a.body());
        assertTrue(a.json().get("message").asText().startsWith("file: the archive unpacks to more than 4.0 MiB "
                + "(kiln.upload-max-unpacked-bytes); refused after writing "), a.body());

        byte[] zip = zipEntries(Map.of("padding.bin", zeros));
        KilnServer.Answer z = upload("bomb", "bomb.zip", zip);
        assertEquals(400, z.status(), z.body());
        assertTrue(z.json().get("message").asText().startsWith("file: the archive unpacks to more than 4.0 MiB "
                + "(kiln.upload-max-unpacked-bytes); refused after writing "), z.body());
        assertFalse(Files.exists(dataRoot.resolve("bomb")));

        byte[] justUnder = new TarArchive().file("padding.bin", new byte[(int) EXPANSION_LIMIT - 20_000]).files(source, "").tar();
        KilnServer.Answer fits = upload("padded", "padded.tar", justUnder);
        assertEquals(201, fits.status(), "within the limit: " + fits.body());
    }

    @Test
    void brokenArchivesAreRefusedSayingWhat() {
        byte[] tar = new TarArchive().files(source, "").tar();
        byte[] truncated = Arrays.copyOf(tar, 512 + 100);
        assertRefused("cut.tar", truncated, "file: the tar archive cannot be read at ");
        assertTrue(upload("broken", "cut.tar", truncated)
                .json().get("message").asText().endsWith(": it is truncated (it ends in the middle of an entry)"));
        assertRefused("data.rar", tar, "file: \"data.rar\" is not a .zip, .tar, .tar.gz or .tgz archive");
        assertRefused("empty.tar", new TarArchive().file("readme.txt", "hello".getBytes(StandardCharsets.UTF_8)).tar(),
                "file: no dataset format recognised in empty.tar");
        KilnServer.Answer name = upload("../up", "x.tar", tar);
        assertEquals(400, name.status(), name.body());
        assertTrue(name.json().get("message").asText().startsWith("name: must be 1 to 100 letters"), name.body());
        assertEquals("name", name.json().path("field").asText(), name.body());
    }

    @Test
    void aBrokenGzipIsTheUploadersProblemNotAServerError() {
        assertRefused("fake.tar.gz", "not gzip at all".getBytes(StandardCharsets.UTF_8),
                "file: not a readable gzip-compressed tar archive: Not in GZIP format");
        byte[] tarGz = new TarArchive().files(source, "").tarGz();
        assertRefused("cut.tgz", Arrays.copyOf(tarGz, tarGz.length / 2), "file: the gzip-compressed tar archive cannot be read at ");
    }

    private void assertRefused(String fileName, byte[] body, String message) {
        KilnServer.Answer a = upload("broken", fileName, body);
        assertEquals(400, a.status(), fileName + ": " + a.body());
        assertTrue(a.json().get("message").asText().startsWith(message), fileName + ": " + a.body());
        assertEquals("file", a.json().path("field").asText(), fileName + ": " + a.body());
        assertFalse(Files.exists(dataRoot.resolve("broken")));
    }

    private static byte[] zip(String prefix, java.util.List<Path> files) throws IOException {
        Map<String, byte[]> entries = new java.util.LinkedHashMap<>();
        for (Path f : files) {
            entries.put(prefix + f.getFileName(), Files.readAllBytes(f));
        }
        return zipEntries(entries);
    }

    private static byte[] zipEntries(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
            }
        }
        return out.toByteArray();
    }
}
