package io.kiln.service.jobs;

import io.kiln.service.config.KilnPaths;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A job's rendered reports, kept in its folder as {@code report-N.html} (N test images) while they are newer than
 * its checkpoint, at most {@code maxBytes} of them per job: the least recently served go first.
 */
final class ReportCache {
    private static final String PREFIX = "report-";
    private static final String SUFFIX = ".html";
    private final KilnPaths paths;
    private final long maxBytes;

    ReportCache(KilnPaths paths, long maxBytes) {
        this.paths = paths;
        this.maxBytes = maxBytes;
    }

    /** The cached report, if it is there and newer than the checkpoint; served, it counts as just used. */
    Optional<String> get(long jobId, int images, Path checkpoint) throws IOException {
        Path f = file(jobId, images);
        try {
            if (Files.getLastModifiedTime(f).compareTo(Files.getLastModifiedTime(checkpoint)) < 0) {
                return Optional.empty();
            }
            String html = Files.readString(f);
            Files.setLastModifiedTime(f, FileTime.from(Instant.now()));
            return Optional.of(html);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
    }

    /** Keeps a report, then drops the least recently used ones of the job beyond the bound (this one included). */
    void put(long jobId, int images, String html) throws IOException {
        Path f = file(jobId, images);
        Path tmp = f.resolveSibling(f.getFileName() + ".tmp");
        Files.writeString(tmp, html);
        Files.move(tmp, f, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        trim(jobId);
    }

    /** The reports kept for a job, newest use first. */
    List<Path> files(long jobId) throws IOException {
        List<Path> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(paths.jobDir(jobId))) {
            s.filter(p -> p.getFileName().toString().startsWith(PREFIX) && p.getFileName().toString().endsWith(SUFFIX))
                    .forEach(out::add);
        }
        out.sort(Comparator.comparing(ReportCache::modified).reversed());
        return out;
    }

    private void trim(long jobId) throws IOException {
        long total = 0;
        for (Path p : files(jobId)) {
            long size;
            try {
                size = Files.size(p);
            } catch (NoSuchFileException gone) {
                // Trimmed by a rendering of another size of this job at the same time.
                continue;
            }
            if (total + size > maxBytes) {
                Files.deleteIfExists(p);
            } else {
                total += size;
            }
        }
    }

    private Path file(long jobId, int images) {
        return paths.jobDir(jobId).resolve(PREFIX + images + SUFFIX);
    }

    private static FileTime modified(Path p) {
        try {
            return Files.getLastModifiedTime(p);
        } catch (IOException e) {
            return FileTime.fromMillis(0);
        }
    }
}
