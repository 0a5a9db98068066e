package io.kiln.service.datasets;

import io.kiln.service.errors.BadInput;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A minimal reader of POSIX (ustar) tar archives, enough for dataset uploads: regular files and folders only;
 * links and devices are refused, as is any name that would land outside the target folder.
 */
final class Tar {
    private Tar() {
    }

    static void extract(InputStream in, Path dir, long maxBytes, int maxFiles) throws IOException {
        byte[] header = new byte[512];
        byte[] buf = new byte[1 << 16];
        long total = 0;
        int files = 0;
        String longName = null;
        while (true) {
            if (in.readNBytes(header, 0, 512) < 512 || allZero(header)) {
                return;
            }
            String name = longName != null ? longName : string(header, 0, 100);
            longName = null;
            String prefix = string(header, 345, 155);
            if (!prefix.isEmpty() && string(header, 257, 6).startsWith("ustar")) {
                name = prefix + "/" + name;
            }
            long size = octal(header, 124, 12);
            char type = (char) header[156];
            long padded = (size + 511) / 512 * 512;
            if (type == 'L') {
                // GNU long name: the next entry's name is in this entry's data.
                byte[] data = in.readNBytes((int) padded);
                longName = new String(data, 0, (int) size, StandardCharsets.UTF_8).replace("\0", "");
                continue;
            }
            if (type == 'x' || type == 'g') {
                in.skipNBytes(padded);
                continue;
            }
            if (type == '5') {
                Files.createDirectories(safe(dir, name));
                continue;
            }
            if (type != '0' && type != '\0' && type != '7') {
                throw new BadInput("file", "the archive entry " + name
                        + " is a link or special file; only regular files and folders are accepted");
            }
            if (++files > maxFiles) {
                throw new BadInput("file", "more than " + maxFiles + " files");
            }
            total += size;
            if (total > maxBytes) {
                throw new BadInput("file", "expands to more than " + maxBytes + " bytes");
            }
            Path out = safe(dir, name);
            Files.createDirectories(out.getParent());
            try (OutputStream os = Files.newOutputStream(out)) {
                long left = size;
                while (left > 0) {
                    int n = in.read(buf, 0, (int) Math.min(buf.length, left));
                    if (n < 0) {
                        throw new BadInput("file", "the archive is truncated in " + name);
                    }
                    os.write(buf, 0, n);
                    left -= n;
                }
            }
            in.skipNBytes(padded - size);
        }
    }

    /** The path of an archive entry inside {@code dir}; refuses absolute names and names that climb out. */
    static Path safe(Path dir, String name) {
        Path p = dir.resolve(name).normalize();
        if (name.startsWith("/") || name.contains("\\") || !p.startsWith(dir)) {
            throw new BadInput("file", "the archive entry " + name
                    + " would be written outside the dataset folder");
        }
        return p;
    }

    private static boolean allZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static String string(byte[] b, int off, int len) {
        int end = off;
        while (end < off + len && b[end] != 0) {
            end++;
        }
        return new String(b, off, end - off, StandardCharsets.UTF_8);
    }

    private static long octal(byte[] b, int off, int len) {
        String s = string(b, off, len).trim();
        return s.isEmpty() ? 0 : Long.parseLong(s, 8);
    }
}
