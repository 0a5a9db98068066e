package io.kiln.service.executor.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A file read while another process appends to it: whole lines, each once. */
@Timeout(10)
class OutputFileTest {
    @Test
    void completeLinesComeOnceAndAHalfWrittenOneWaits(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("out");
        OutputFile out = new OutputFile(f, 0);
        assertEquals(List.of(), out.newLines(), "no file yet");
        append(f, "one\ntw");
        assertEquals(List.of("one"), out.newLines());
        assertEquals(4, out.consumed());
        append(f, "o ünïcode\nthree\n");
        assertEquals(List.of("two ünïcode", "three"), out.newLines());
        assertEquals(List.of(), out.newLines());
        append(f, "cut");
        assertEquals(List.of(), out.newLines());
        assertEquals("cut", out.rest());
    }

    @Test
    void readingStartsAtTheOffsetAndAFileStartedOverIsReadFromItsStart(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("out");
        append(f, "earlier run\nthis run\n");
        OutputFile out = new OutputFile(f, "earlier run\n".length());
        assertEquals(List.of("this run"), out.newLines());
        Files.writeString(f, "new\n");
        assertEquals(List.of("new"), out.newLines());
    }

    private static void append(Path f, String text) throws Exception {
        Files.writeString(f, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
