package io.kiln.service.datasets;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.data.DataException;
import io.kiln.engine.data.DatasetLoader;
import io.kiln.engine.data.LoadedData;
import io.kiln.service.config.KilnConfig;
import io.kiln.service.config.KilnPaths;
import io.kiln.service.errors.BadInput;
import io.kiln.service.errors.Conflict;
import jakarta.inject.Singleton;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * The data root: lists its datasets, and installs an uploaded archive (zip, tar or tar.gz) after extracting it
 * safely (no absolute paths, no '..', no links, bounded size and file count) and checking that the engine reads
 * it.
 */
@Singleton
public class DatasetService {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    static final int MAX_FILES = 200_000;
    private final KilnConfig config;
    private final KilnPaths paths;

    public DatasetService(KilnConfig config, KilnPaths paths) {
        this.config = config;
        this.paths = paths;
    }

    public ArrayNode list() throws IOException {
        ArrayNode out = JSON.createArrayNode();
        Path root = paths.dataRoot();
        if (!Files.isDirectory(root)) {
            return out;
        }
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path d : dirs.filter(Files::isDirectory).sorted().toList()) {
                ObjectNode n = out.addObject();
                n.put("name", d.getFileName().toString());
                String format = DatasetLoader.detect(d);
                n.put("format", format);
                long[] size = size(d);
                n.put("files", size[0]);
                n.put("bytes", size[1]);
            }
        }
        return out;
    }

    private static long[] size(Path dir) throws IOException {
        long[] s = new long[2];
        try (Stream<Path> files = Files.walk(dir, java.nio.file.FileVisitOption.FOLLOW_LINKS)) {
            files.filter(Files::isRegularFile).forEach(f -> {
                s[0]++;
                try {
                    s[1] += Files.size(f);
                } catch (IOException ignored) {
                    // a file removed meanwhile
                }
            });
        }
        return s;
    }

    /** Installs an archive as dataset {@code name}; returns its description. */
    public ObjectNode install(String name, String fileName, InputStream archive) throws IOException {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new BadInput("name", "must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        Path root = paths.dataRoot();
        Files.createDirectories(root);
        Path target = root.resolve(name);
        if (Files.exists(target)) {
            throw new Conflict("name", "dataset " + name + " already exists");
        }
        Path tmp = Files.createTempDirectory(root, ".upload-");
        try {
            String lower = fileName == null ? "" : fileName.toLowerCase(java.util.Locale.ROOT);
            InputStream in = new BufferedInputStream(archive);
            try {
                if (lower.endsWith(".zip")) {
                    unzip(in, tmp);
                } else if (lower.endsWith(".tar.gz") || lower.endsWith(".tgz")) {
                    Tar.extract(new GZIPInputStream(in), tmp, config.uploadExpansionLimit(), MAX_FILES);
                } else if (lower.endsWith(".tar")) {
                    Tar.extract(in, tmp, config.uploadExpansionLimit(), MAX_FILES);
                } else {
                    throw new BadInput("file", fileName + " is not a .zip, .tar or .tar.gz archive");
                }
            } catch (java.util.zip.ZipException | java.io.EOFException e) {
                // A broken upload is the user's to fix, not a server error.
                throw new BadInput("file", fileName + " is not a readable archive (" + e.getMessage() + ")");
            }
            Path folder = singleTopFolder(tmp);
            String format = DatasetLoader.detect(folder);
            if (format == null) {
                throw new BadInput("file", "no dataset format recognised in " + fileName
                        + "; expected IDX files (train-images-idx3-ubyte[.gz], ...), CIFAR-10 binary batches "
                        + "(data_batch_1.bin ... test_batch.bin) or image folders (train/<class>/*.png, test/<class>/...)");
            }
            LoadedData data;
            try {
                data = DatasetLoader.load(folder);
            } catch (DataException e) {
                throw new BadInput("file", e.getMessage());
            }
            Files.move(folder, target, StandardCopyOption.ATOMIC_MOVE);
            ObjectNode n = JSON.createObjectNode();
            n.put("name", name);
            n.put("format", format);
            n.put("train", data.train().size());
            n.put("test", data.test().size());
            n.put("classes", data.train().numClasses());
            return n;
        } finally {
            delete(tmp);
        }
    }

    private void unzip(InputStream in, Path dir) throws IOException {
        long budget = config.uploadExpansionLimit();
        int files = 0;
        try (ZipInputStream zip = new ZipInputStream(in)) {
            ZipEntry e;
            byte[] buf = new byte[1 << 16];
            while ((e = zip.getNextEntry()) != null) {
                Path out = Tar.safe(dir, e.getName());
                if (e.isDirectory()) {
                    Files.createDirectories(out);
                    continue;
                }
                if (++files > MAX_FILES) {
                    throw new BadInput("file", "more than " + MAX_FILES + " files");
                }
                Files.createDirectories(out.getParent());
                try (var os = Files.newOutputStream(out)) {
                    int n;
                    while ((n = zip.read(buf)) > 0) {
                        budget -= n;
                        if (budget < 0) {
                            throw new BadInput("file", "expands to more than " + config.uploadExpansionLimit() + " bytes");
                        }
                        os.write(buf, 0, n);
                    }
                }
            }
        }
    }

    /** An archive holding one folder (e.g. cifar-10-batches-bin/) is that folder's content. */
    private static Path singleTopFolder(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> entries = s.filter(p -> !p.getFileName().toString().startsWith(".")
                    && !p.getFileName().toString().equals("__MACOSX")).toList();
            if (entries.size() == 1 && Files.isDirectory(entries.get(0)) && DatasetLoader.detect(dir) == null) {
                return entries.get(0);
            }
        }
        return dir;
    }

    private static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
