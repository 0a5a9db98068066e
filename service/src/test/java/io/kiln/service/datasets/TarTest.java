package io.kiln.service.datasets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.service.TarArchive;
import io.kiln.service.config.KilnLimits;
import io.kiln.service.errors.BadInput;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The archive reader's limits on tar archives, which an upload over HTTP reaches only with a huge archive (the file
 * count is 200,000): called here with small limits.
 */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class TarTest {
    static final byte[] X = "x".getBytes(StandardCharsets.UTF_8);

    @Test
    void moreFilesThanTheLimitAreRefusedBeforeTheOneTooMany(@TempDir Path dir) throws IOException {
        byte[] tar = new TarArchive().folder("d").file("d/1", X).file("d/2", X).file("d/3", X).file("d/4", X).tar();
        BadInput e = assertThrows(BadInput.class,
                () -> extract(tar, dir, 1000, 3));
        assertEquals("file", e.field());
        assertEquals("file: the archive holds more than 3 files (kiln.upload-max-files); refused at d/4", e.getMessage());
        assertTrue(Files.exists(dir.resolve("d/3")));
        assertFalse(Files.exists(dir.resolve("d/4")), "the file past the limit is not written");

        Path ok = Files.createDirectory(dir.resolve("ok"));
        extract(tar, ok, 1000, 4);
        assertEquals("x", Files.readString(ok.resolve("d/4")), "folders do not count, four files fit a limit of 4");
    }

    @Test
    void theSizeLimitCountsEveryFile(@TempDir Path dir) {
        byte[] tar = new TarArchive().file("a", new byte[600]).file("b", new byte[600]).tar();
        BadInput e = assertThrows(BadInput.class,
                () -> extract(tar, dir, 1000, 10));
        assertEquals("file: the archive unpacks to more than 1000 bytes (kiln.upload-max-unpacked-bytes); refused after "
                + "writing 600 bytes", e.getMessage());
        assertFalse(Files.exists(dir.resolve("b")));
    }

    @Test
    void aGnuLongNameIsReadAndStillChecked(@TempDir Path dir) throws IOException {
        String longName = "folder/" + "n".repeat(150) + ".txt";
        byte[] named = new TarArchive().entry("././@LongLink", 'L', (longName + "\0").getBytes(StandardCharsets.UTF_8), "")
                .file("ignored-short-name", X).tar();
        extract(named, dir, 1000, 10);
        assertEquals("x", Files.readString(dir.resolve(longName)));

        String escape = "../" + "n".repeat(150);
        byte[] evil = new TarArchive().entry("././@LongLink", 'L', escape.getBytes(StandardCharsets.UTF_8), "")
                .file("harmless", X).tar();
        Path inner = Files.createDirectory(dir.resolve("inner"));
        BadInput e = assertThrows(BadInput.class,
                () -> extract(evil, inner, 1000, 10));
        assertTrue(e.getMessage().contains("would be written outside the dataset folder"), e.getMessage());
    }

    @Test
    void aLongNameOverTheLimitIsRefusedFromItsHeaderWithoutReadingIt(@TempDir Path dir) {
        byte[] header = new TarArchive().entry("././@LongLink", 'L', new byte[0], "").tar();
        // The header declares 900 MB of name; reading any byte after the header fails the test.
        byte[] declared = Arrays.copyOf(header, 512);
        System.arraycopy(String.format("%011o", 900L << 20).getBytes(StandardCharsets.US_ASCII), 0, declared, 124, 11);
        long sum = 0;
        Arrays.fill(declared, 148, 156, (byte) ' ');
        for (byte b : declared) {
            sum += b & 0xFF;
        }
        System.arraycopy(String.format("%06o\0 ", sum).getBytes(StandardCharsets.US_ASCII), 0, declared, 148, 8);
        InputStream headerOnly = new SequenceInputStream(new ByteArrayInputStream(declared), new InputStream() {
            @Override
            public int read() throws IOException {
                throw new IOException("the reader went past the header");
            }
        });
        BadInput e = assertThrows(BadInput.class, () -> new ArchiveExtractor(limits(1L << 40, 10))
                .extract(ArchiveExtractor.Format.TAR, headerOnly, dir));
        assertEquals("file: the archive's GNU long name is 943718400 bytes long, more than 4096 "
                + "(kiln.upload-max-name-bytes); refused without reading it", e.getMessage());
    }

    static void extract(byte[] tar, Path dir, long maxBytes, int maxFiles) throws IOException {
        new ArchiveExtractor(limits(maxBytes, maxFiles)).extract(ArchiveExtractor.Format.TAR, new ByteArrayInputStream(tar), dir);
    }

    /** The defaults but for the unpacked bytes and files, and no expansion ratio within these sizes. */
    static KilnLimits limits(long maxUnpackedBytes, int maxFiles) {
        return new KilnLimits(1L << 30, maxUnpackedBytes, 100, 8L << 20, maxFiles, 4096, 1L << 30, 2, 64, 16L << 20, 16L << 20,
                List.of(20, 100, 500), 64L << 20, 1 << 20, 32, Duration.ofSeconds(5), 1L << 20, true);
    }
}
