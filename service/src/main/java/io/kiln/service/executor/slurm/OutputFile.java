package io.kiln.service.executor.slurm;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A file that a batch job appends to on the shared file system, read as it grows: each call hands over the
 * complete lines written since the last one. The file is opened anew each time, so that a network file system shows
 * what the node has closed or flushed (close-to-open consistency). A file that shrank was started over (a
 * requeued job whose output is not appended): it is read again from its start.
 */
final class OutputFile {
    /** The most bytes one call reads, so that a huge backlog is handed over in parts. */
    static final int MAX_READ = 4 << 20;

    private final Path file;
    private long offset;
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();

    /** Reads {@code file} from {@code offset} on (0: the whole file). */
    OutputFile(Path file, long offset) {
        this.file = file;
        this.offset = offset;
    }

    Path path() {
        return file;
    }

    /** Where the complete lines handed over so far end. */
    long consumed() {
        return offset - partial.size();
    }

    /** The complete lines appended since the last call (none when the file does not exist yet). */
    List<String> newLines() throws IOException {
        List<String> lines = new ArrayList<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < offset) {
                offset = 0;
                partial.reset();
            }
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(MAX_READ, size - offset));
            while (buf.hasRemaining()) {
                int n = ch.read(buf, offset + buf.position());
                if (n < 0) {
                    break;
                }
            }
            offset += buf.position();
            byte[] bytes = buf.array();
            int start = 0;
            for (int i = 0; i < buf.position(); i++) {
                if (bytes[i] == '\n') {
                    partial.write(bytes, start, i - start);
                    lines.add(partial.toString(StandardCharsets.UTF_8));
                    partial.reset();
                    start = i + 1;
                }
            }
            partial.write(bytes, start, buf.position() - start);
        } catch (NoSuchFileException notYet) {
            return lines;
        }
        return lines;
    }

    /** A last line without its newline (a worker killed while writing it), once the writer is gone. */
    String rest() {
        String s = partial.toString(StandardCharsets.UTF_8);
        partial.reset();
        return s;
    }

    boolean exists() {
        return Files.exists(file);
    }
}
