package io.kiln.service.datasets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.service.TarArchive;
import io.kiln.service.errors.BadInput;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tar reader's limits, which an upload over HTTP reaches only with a huge archive (the file count is
 * 200,000): called here with small limits.
 */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class TarTest {
    static final byte[] X = "x".getBytes(StandardCharsets.UTF_8);

    @Test
    void moreFilesThanTheLimitAreRefusedBeforeTheOneTooMany(@TempDir Path dir) throws IOException {
        byte[] tar = new TarArchive().folder("d").file("d/1", X).file("d/2", X).file("d/3", X).file("d/4", X).tar();
        BadInput e = assertThrows(BadInput.class,
                () -> Tar.extract(new ByteArrayInputStream(tar), dir, 1000, 3));
        assertEquals("file", e.field());
        assertEquals("file: more than 3 files", e.getMessage());
        assertTrue(Files.exists(dir.resolve("d/3")));
        assertFalse(Files.exists(dir.resolve("d/4")), "the file past the limit is not written");

        Path ok = Files.createDirectory(dir.resolve("ok"));
        Tar.extract(new ByteArrayInputStream(tar), ok, 1000, 4);
        assertEquals("x", Files.readString(ok.resolve("d/4")), "folders do not count, four files fit a limit of 4");
    }

    @Test
    void theSizeLimitCountsEveryFile(@TempDir Path dir) {
        byte[] tar = new TarArchive().file("a", new byte[600]).file("b", new byte[600]).tar();
        BadInput e = assertThrows(BadInput.class,
                () -> Tar.extract(new ByteArrayInputStream(tar), dir, 1000, 10));
        assertEquals("file: expands to more than 1000 bytes", e.getMessage());
        assertFalse(Files.exists(dir.resolve("b")));
    }

    @Test
    void aGnuLongNameIsReadAndStillChecked(@TempDir Path dir) throws IOException {
        String longName = "folder/" + "n".repeat(150) + ".txt";
        byte[] named = new TarArchive().entry("././@LongLink", 'L', (longName + "\0").getBytes(StandardCharsets.UTF_8), "")
                .file("ignored-short-name", X).tar();
        Tar.extract(new ByteArrayInputStream(named), dir, 1000, 10);
        assertEquals("x", Files.readString(dir.resolve(longName)));

        String escape = "../" + "n".repeat(150);
        byte[] evil = new TarArchive().entry("././@LongLink", 'L', escape.getBytes(StandardCharsets.UTF_8), "")
                .file("harmless", X).tar();
        Path inner = Files.createDirectory(dir.resolve("inner"));
        BadInput e = assertThrows(BadInput.class,
                () -> Tar.extract(new ByteArrayInputStream(evil), inner, 1000, 10));
        assertTrue(e.getMessage().contains("would be written outside the dataset folder"), e.getMessage());
    }
}
