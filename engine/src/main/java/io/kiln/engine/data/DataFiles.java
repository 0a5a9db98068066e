package io.kiln.engine.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/** File helpers shared by the loaders; every failure becomes a {@link DataException} naming the file. */
final class DataFiles {
    private static final int BUFFER = 1 << 16;

    private DataFiles() {
    }

    /** Whether {@code file} starts with the gzip magic bytes (1f 8b). */
    static boolean isGzip(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(2);
            return head.length == 2 && (head[0] & 0xFF) == 0x1F && (head[1] & 0xFF) == 0x8B;
        } catch (IOException e) {
            throw cannotRead(file, e);
        }
    }

    /** A buffered stream over {@code file}, decompressing it when it is gzip data (whatever its name). */
    static InputStream open(Path file, boolean gzip) {
        try {
            InputStream in = new BufferedInputStream(Files.newInputStream(file), BUFFER);
            if (!gzip) {
                return in;
            }
            try {
                return new GZIPInputStream(in, BUFFER);
            } catch (IOException e) {
                in.close();
                throw e;
            }
        } catch (ZipException e) {
            throw new DataException("file " + file + " is corrupt: not valid gzip data (" + e.getMessage() + ")", e);
        } catch (EOFException e) {
            throw new DataException("file " + file + " is truncated: the gzip header ends early", e);
        } catch (IOException e) {
            throw cannotRead(file, e);
        }
    }

    /**
     * Reads exactly {@code len} bytes into {@code dst[off...]}; fewer means the file is truncated, and the
     * message says what was being read ({@code what}) and how much was found.
     */
    static void readFully(InputStream in, byte[] dst, int off, int len, Path file, String what) {
        int got;
        try {
            got = in.readNBytes(dst, off, len);
        } catch (EOFException e) {
            throw new DataException("file " + file + " is truncated: the compressed data ends early while reading "
                    + what, e);
        } catch (ZipException e) {
            throw new DataException("file " + file + " is corrupt: bad gzip data while reading " + what + " ("
                    + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw cannotRead(file, e);
        }
        if (got < len) {
            throw new DataException("file " + file + " is truncated: expected " + len + " bytes of " + what
                    + ", found only " + got);
        }
    }

    /** A big-endian 32-bit integer. */
    static int readInt(InputStream in, Path file, String what) {
        byte[] b = new byte[4];
        readFully(in, b, 0, 4, file, what);
        return (b[0] & 0xFF) << 24 | (b[1] & 0xFF) << 16 | (b[2] & 0xFF) << 8 | (b[3] & 0xFF);
    }

    /** Whether the stream has no more bytes. */
    static boolean atEnd(InputStream in, Path file) {
        try {
            return in.read() < 0;
        } catch (EOFException e) {
            throw new DataException("file " + file + " is truncated: the compressed data ends early", e);
        } catch (ZipException e) {
            throw new DataException("file " + file + " is corrupt: bad gzip data at its end (" + e.getMessage() + ")",
                    e);
        } catch (IOException e) {
            throw cannotRead(file, e);
        }
    }

    static long size(Path file) {
        try {
            return Files.size(file);
        } catch (IOException e) {
            throw cannotRead(file, e);
        }
    }

    /** The non-blank lines of a text file, trimmed: class names, one per line. */
    static List<String> readNames(Path file) {
        List<String> names = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                String t = line.strip();
                if (!t.isEmpty()) {
                    names.add(t);
                }
            }
        } catch (IOException e) {
            throw cannotRead(file, e);
        }
        if (names.isEmpty()) {
            throw new DataException("file " + file + " names no classes (expected one class name per line)");
        }
        return names;
    }

    /** The names of a folder's entries, sorted, folders marked with a trailing '/'; at most {@code max}. */
    static String describeContents(Path folder, int max) {
        List<String> names = new ArrayList<>();
        try (Stream<Path> s = Files.list(folder)) {
            s.forEach(p -> names.add(p.getFileName() + (Files.isDirectory(p) ? "/" : "")));
        } catch (IOException e) {
            return "(cannot list it: " + e.getMessage() + ")";
        }
        if (names.isEmpty()) {
            return "nothing (it is empty)";
        }
        names.sort(null);
        if (names.size() > max) {
            int more = names.size() - max;
            List<String> shown = new ArrayList<>(names.subList(0, max));
            shown.add("... and " + more + " more");
            return String.join(", ", shown);
        }
        return String.join(", ", names);
    }

    static DataException cannotRead(Path file, IOException e) {
        return new DataException("cannot read " + file + ": " + e, e);
    }
}
