package io.kiln.service.datasets;

import io.kiln.service.config.KilnLimits;
import io.kiln.service.errors.BadInput;
import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.ArchiveEntry;
import org.apache.commons.compress.archivers.ArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveInputStream;

/**
 * Unpacks an uploaded dataset archive (.zip, .tar, .tar.gz or .tgz) into a folder with Apache Commons Compress,
 * within an {@link UploadBudget}: regular files and folders only, no name that lands outside the folder, names
 * and headers bounded before they are read. Whatever is wrong with the archive (not the format its name says,
 * truncated, damaged) is a {@link BadInput} saying what; a failure to write the folder stays an I/O error.
 */
final class ArchiveExtractor {
    /** Archive formats by file name. */
    enum Format {
        ZIP, TAR, TAR_GZ;

        static Format of(String fileName) {
            String lower = fileName == null ? "" : fileName.toLowerCase(Locale.ROOT);
            if (lower.endsWith(".zip")) {
                return ZIP;
            }
            if (lower.endsWith(".tar.gz") || lower.endsWith(".tgz")) {
                return TAR_GZ;
            }
            if (lower.endsWith(".tar")) {
                return TAR;
            }
            throw new BadInput("file", "\"" + shorten(fileName) + "\" is not a .zip, .tar, .tar.gz or .tgz archive");
        }

        String describe() {
            return switch (this) {
                case ZIP -> "zip archive";
                case TAR -> "tar archive";
                case TAR_GZ -> "gzip-compressed tar archive";
            };
        }
    }

    private static final int BUFFER = 1 << 16;
    /** Small, so that the expansion ratio counts few archive bytes read ahead of what has been unpacked. */
    private static final int READ_AHEAD = 1 << 14;
    private final KilnLimits limits;

    ArchiveExtractor(KilnLimits limits) {
        this.limits = limits;
    }

    /**
     * Unpacks {@code archive} into {@code dir} (an empty folder).
     *
     * @return what it cost
     * @throws BadInput for an archive that is not of {@code format}, is damaged or breaks a limit
     * @throws IOException when {@code dir} cannot be written
     */
    UploadBudget extract(Format format, InputStream archive, Path dir) throws IOException {
        UploadBudget budget = new UploadBudget(limits);
        InputStream raw = new BufferedInputStream(budget.counting(archive), READ_AHEAD);
        int entries = 0;
        try (ArchiveInputStream<? extends ArchiveEntry> in = open(format, raw)) {
            byte[] buf = new byte[BUFFER];
            for (ArchiveEntry e = next(in, format); e != null; e = next(in, format)) {
                entries++;
                String name = e.getName();
                if (name.getBytes(StandardCharsets.UTF_8).length > limits.uploadMaxNameBytes()) {
                    throw new BadInput("file", "an entry name is longer than " + limits.uploadMaxNameBytes()
                            + " bytes (kiln.upload-max-name-bytes): " + shorten(name));
                }
                checkType(e);
                Path out = safe(dir, name);
                if (e.isDirectory() || out.equals(dir)) {
                    Files.createDirectories(out);
                    continue;
                }
                budget.file(name);
                Files.createDirectories(out.getParent());
                try (OutputStream os = Files.newOutputStream(out)) {
                    for (int n = read(in, buf, format, name); n >= 0; n = read(in, buf, format, name)) {
                        budget.write(n);
                        os.write(buf, 0, n);
                    }
                } catch (BadInput refused) {
                    // The file that broke a limit is not left half written.
                    Files.deleteIfExists(out);
                    throw refused;
                }
            }
        }
        if (entries == 0) {
            throw new BadInput("file", "the " + format.describe() + " holds no files");
        }
        return budget;
    }

    private ArchiveInputStream<? extends ArchiveEntry> open(Format format, InputStream raw) {
        try {
            return switch (format) {
                // Stored entries with a data descriptor cannot be read as a stream: refused, not guessed at.
                case ZIP -> new ZipArchiveInputStream(raw, StandardCharsets.UTF_8.name(), true, false);
                case TAR -> new BoundedTarInputStream(raw, limits.uploadMaxNameBytes());
                case TAR_GZ -> new BoundedTarInputStream(new GZIPInputStream(raw, READ_AHEAD), limits.uploadMaxNameBytes());
            };
        } catch (IOException e) {
            throw unreadable(format, e);
        }
    }

    private static ArchiveEntry next(ArchiveInputStream<? extends ArchiveEntry> in, Format format) {
        try {
            return in.getNextEntry();
        } catch (IOException | IllegalArgumentException e) {
            throw unreadable(format, e);
        }
    }

    private static int read(InputStream in, byte[] buf, Format format, String entry) {
        try {
            return in.read(buf);
        } catch (IOException | IllegalArgumentException e) {
            throw new BadInput("file", "the " + format.describe() + " cannot be read at " + shorten(entry) + ": "
                    + reason(e));
        }
    }

    private static BadInput unreadable(Format format, Exception e) {
        return new BadInput("file", "not a readable " + format.describe() + ": " + reason(e));
    }

    private static String reason(Exception e) {
        String m = e.getMessage();
        if (e instanceof EOFException || m != null && m.toLowerCase(Locale.ROOT).contains("truncated")) {
            return "it is truncated (it ends in the middle of an entry)";
        }
        return m == null ? e.getClass().getSimpleName() : shorten(m);
    }

    private static void checkType(ArchiveEntry e) {
        boolean special = switch (e) {
            // isFile() alone is true of links and devices too.
            case TarArchiveEntry t -> t.isSymbolicLink() || t.isLink() || t.isCharacterDevice() || t.isBlockDevice()
                    || t.isFIFO() || t.isSparse() || !t.isDirectory() && !t.isFile();
            case ZipArchiveEntry z -> z.isUnixSymlink();
            default -> false;
        };
        if (special) {
            throw new BadInput("file", "the archive entry " + shorten(e.getName())
                    + " is a link or special file; only regular files and folders are accepted");
        }
    }

    /** The path of an archive entry inside {@code dir}; refuses absolute names and names that climb out. */
    static Path safe(Path dir, String name) {
        Path p;
        try {
            p = dir.resolve(name).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            throw new BadInput("file", "the archive entry " + shorten(name) + " is not a valid file name");
        }
        if (name.startsWith("/") || name.contains("\\") || !p.startsWith(dir)) {
            throw new BadInput("file", "the archive entry " + shorten(name)
                    + " would be written outside the dataset folder");
        }
        return p;
    }

    /** Names and messages in an answer are cut to a readable length. */
    static String shorten(String s) {
        if (s == null) {
            return "";
        }
        return s.length() <= 120 ? s : s.substring(0, 117) + "...";
    }
}
