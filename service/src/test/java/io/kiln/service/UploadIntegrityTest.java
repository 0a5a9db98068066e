package io.kiln.service;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every byte of an upload arrives: archives holding a large incompressible file beside a small IDX dataset are
 * uploaded over real HTTP, one at a time, several at once, and as a chunked body written in small uneven pieces,
 * and every file installed is compared by SHA-256 with the one packed. A chunk of the request dropped, repeated or
 * reordered on its way to the unpacker changes a hash, or shifts the tar reader off its headers (a 400).
 */
@Timeout(120)
class UploadIntegrityTest extends DatasetUploads {
    static final int MB = 1 << 20;
    Path source;
    Map<String, String> sourceHashes;

    @BeforeAll
    void start() throws IOException {
        startServer("kiln-upload-integrity", Map.of("kiln.cpu-slot", "off", "kiln.max-concurrent-uploads", "3",
                "kiln.upload-limit-bytes", String.valueOf(64 * MB), "kiln.upload-max-unpacked-bytes", String.valueOf(64 * MB)));
        source = TestData.write(home.resolve("source"), "small", 100, 40, 4);
        sourceHashes = hashes(source);
    }

    /** One archive to upload, and the SHA-256 of each file it should install. */
    record Packed(String name, String fileName, byte[] archive, Map<String, String> hashes, byte[] bulk) {
    }

    /** A tar (or tar.gz) of {@code size} random bytes in bulk.bin, before or after the dataset's files. */
    Packed pack(String name, int size, boolean gzip, boolean bulkFirst, long seed) {
        byte[] bulk = new byte[size];
        new Random(seed).nextBytes(bulk);
        TarArchive tar = new TarArchive();
        if (bulkFirst) {
            tar.file("bulk.bin", bulk).files(source, "");
        } else {
            tar.files(source, "").file("bulk.bin", bulk);
        }
        Map<String, String> expected = new TreeMap<>(sourceHashes);
        expected.put("bulk.bin", sha256(bulk));
        return new Packed(name, gzip ? name + ".tar.gz" : name + ".tar", gzip ? tar.tarGz() : tar.tar(), expected, bulk);
    }

    @Test
    void uploadsOneAtATimeArriveWhole() throws IOException {
        for (int i = 0; i < 6; i++) {
            Packed p = pack("one-" + i, (6 + i) * MB + 12345 * i, i % 2 == 1, i % 3 != 2, i);
            assertInstalledWhole(p, upload(p.name(), p.fileName(), p.archive()));
        }
    }

    @Test
    void uploadsThreeAtOnceArriveWhole() throws Exception {
        for (int round = 0; round < 3; round++) {
            List<Packed> batch = new ArrayList<>();
            for (int j = 0; j < 3; j++) {
                int i = round * 3 + j;
                batch.add(pack("many-" + i, (8 + j * 2) * MB - 777 * i, j == 1, j != 2, 100 + i));
            }
            List<CompletableFuture<KilnServer.Answer>> sent = batch.stream()
                    .map(p -> CompletableFuture.supplyAsync(() -> upload(p.name(), p.fileName(), p.archive()))).toList();
            // Every answer first, so that no upload is still unpacking when the test ends.
            CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).join();
            for (int j = 0; j < batch.size(); j++) {
                assertInstalledWhole(batch.get(j), sent.get(j).get());
            }
        }
    }

    @Test
    void aChunkedUploadWrittenInSmallUnevenPiecesArrivesWhole() throws IOException {
        for (int i = 0; i < 3; i++) {
            Packed p = pack("trickle-" + i, 7 * MB + 511 * i, i == 1, true, 200 + i);
            String boundary = "kiln" + UUID.randomUUID();
            byte[] body = ApiTestSupport.multipartBody(boundary, Map.of("name", p.name()), "file", p.fileName(), p.archive());
            Random pieces = new Random(300 + i);
            // No length: the client sends the body chunked, as it reads it, in pieces of 1 byte to 64 KiB.
            Supplier<InputStream> trickle = () -> new ByteArrayInputStream(body) {
                @Override
                public synchronized int read(byte[] b, int off, int len) {
                    return super.read(b, off, Math.min(len, 1 + pieces.nextInt(pieces.nextBoolean() ? 64 : 65536)));
                }
            };
            KilnServer.Answer a = kiln.send(HttpRequest.newBuilder(kiln.uri("/api/v1/datasets"))
                    .header("Authorization", "Bearer " + KilnServer.ADMIN)
                    .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                    .POST(HttpRequest.BodyPublishers.ofInputStream(trickle)));
            assertInstalledWhole(p, a);
        }
    }

    private void assertInstalledWhole(Packed p, KilnServer.Answer a) throws IOException {
        assertEquals(201, a.status(), p.fileName() + " (" + p.archive().length + " bytes): " + a.body());
        Path installed = dataRoot.resolve(p.name());
        assertEquals(p.hashes(), hashes(installed), () -> p.fileName() + ": every file arrives whole; bulk.bin "
                + damage(p.bulk(), installed.resolve("bulk.bin")));
    }

    /** Where and how an installed copy differs from the original: a first clue to what the upload did to it. */
    static String damage(byte[] original, Path copy) {
        byte[] got;
        try {
            got = Files.readAllBytes(copy);
        } catch (IOException e) {
            return "cannot be read: " + e;
        }
        int at = Arrays.mismatch(original, got);
        if (at < 0) {
            return "is intact";
        }
        int end = Math.min(original.length, got.length);
        int last = end - 1;
        while (last > at && original[last] == got[last]) {
            last--;
        }
        byte[] wrong = Arrays.copyOfRange(got, at, Math.min(at + 64, end));
        int from = indexOf(original, wrong);
        return String.format("has %d bytes (%d sent), differs from byte %d to %d; the bytes there %s", got.length,
                original.length, at, last, from >= 0 ? "were sent at byte " + from + " (" + (at - from) + " earlier)"
                : "were not sent anywhere");
    }

    private static int indexOf(byte[] data, byte[] part) {
        outer:
        for (int i = 0; i + part.length <= data.length; i++) {
            for (int j = 0; j < part.length; j++) {
                if (data[i + j] != part[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** SHA-256 of every regular file in {@code dir}, by file name. */
    static Map<String, String> hashes(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                out.put(f.getFileName().toString(), sha256(Files.readAllBytes(f)));
            }
        }
        return out;
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
