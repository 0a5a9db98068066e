package io.kiln.service.datasets;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.data.DataException;
import io.kiln.engine.data.DatasetLoader;
import io.kiln.engine.data.LoadedData;
import io.kiln.service.config.KilnLimits;
import io.kiln.service.config.KilnPaths;
import io.kiln.service.errors.BadInput;
import io.kiln.service.errors.Conflict;
import io.kiln.service.errors.LimitReached;
import jakarta.annotation.PostConstruct;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitOption;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data root: lists its datasets, and installs an uploaded archive after unpacking it safely
 * ({@link ArchiveExtractor}) into a hidden folder beside the datasets and checking that the engine reads it; only
 * then is the folder moved to its name, in one step. At most kiln.max-concurrent-uploads are installed at once,
 * and a name being installed is not given to a second upload.
 */
@Singleton
public class DatasetService {
    private static final Logger LOG = LoggerFactory.getLogger(DatasetService.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    /** Folders being unpacked; hidden from the listing (dot names), removed on failure and at start-up. */
    static final String TEMP_PREFIX = ".upload-";
    private final KilnLimits limits;
    private final KilnPaths paths;
    private final ArchiveExtractor extractor;
    private final Semaphore uploads;
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();

    public DatasetService(KilnLimits limits, KilnPaths paths) {
        this.limits = limits;
        this.paths = paths;
        this.extractor = new ArchiveExtractor(limits);
        this.uploads = new Semaphore(limits.maxConcurrentUploads());
    }

    /** Folders left by uploads that a crash cut short. */
    @PostConstruct
    void removeLeftovers() {
        Path root = paths.dataRoot();
        if (!Files.isDirectory(root)) {
            return;
        }
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path d : dirs.filter(d -> d.getFileName().toString().startsWith(TEMP_PREFIX)).toList()) {
                LOG.info("removing {}, left by an upload that did not finish", d);
                delete(d);
            }
        } catch (IOException e) {
            LOG.warn("cannot clean the data root {} of unfinished uploads: {}", root, e.toString());
        }
    }

    public ArrayNode list() throws IOException {
        ArrayNode out = JSON.createArrayNode();
        Path root = paths.dataRoot();
        if (!Files.isDirectory(root)) {
            return out;
        }
        List<Path> dirs;
        try (Stream<Path> s = Files.list(root)) {
            dirs = s.filter(d -> !d.getFileName().toString().startsWith(".") && Files.isDirectory(d)).sorted().toList();
        }
        for (Path d : dirs) {
            try {
                long[] size = size(d);
                ObjectNode n = JSON.createObjectNode();
                n.put("name", d.getFileName().toString());
                n.put("format", DatasetLoader.detect(d));
                n.put("files", size[0]);
                n.put("bytes", size[1]);
                out.add(n);
            } catch (NoSuchFileException | UncheckedIOException gone) {
                // removed while it was listed
            }
        }
        return out;
    }

    private static long[] size(Path dir) throws IOException {
        long[] s = new long[2];
        try (Stream<Path> files = Files.walk(dir, FileVisitOption.FOLLOW_LINKS)) {
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

    /**
     * Installs an archive as dataset {@code name}; returns its description.
     *
     * @throws BadInput for a bad name or archive (the message says what is wrong)
     * @throws Conflict when the name is taken, or being uploaded by another request
     * @throws LimitReached when kiln.max-concurrent-uploads uploads are being installed
     */
    public ObjectNode install(String name, String fileName, InputStream archive) throws IOException {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new BadInput("name", "must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        ArchiveExtractor.Format format = ArchiveExtractor.Format.of(fileName);
        Path root = paths.dataRoot();
        Path target = root.resolve(name);
        if (Files.exists(target)) {
            throw new Conflict("name", "dataset " + name + " already exists");
        }
        if (!inFlight.add(name)) {
            throw new Conflict("name", "dataset " + name + " is being uploaded by another request");
        }
        try {
            if (!uploads.tryAcquire()) {
                throw new LimitReached(limits.maxConcurrentUploads() + " uploads are being installed, the most at once "
                        + "(kiln.max-concurrent-uploads); try again when one has finished");
            }
            try {
                return unpack(name, fileName, format, archive, root, target);
            } finally {
                uploads.release();
            }
        } finally {
            inFlight.remove(name);
        }
    }

    private ObjectNode unpack(String name, String fileName, ArchiveExtractor.Format format, InputStream archive, Path root,
                              Path target) throws IOException {
        Files.createDirectories(root);
        Path tmp = Files.createTempDirectory(root, TEMP_PREFIX);
        try {
            UploadBudget cost = extractor.extract(format, archive, tmp);
            Path folder = singleTopFolder(tmp);
            String detected = DatasetLoader.detect(folder);
            if (detected == null) {
                throw new BadInput("file", "no dataset format recognised in " + ArchiveExtractor.shorten(fileName)
                        + "; expected IDX files (train-images-idx3-ubyte[.gz], ...), CIFAR-10 binary batches "
                        + "(data_batch_1.bin ... test_batch.bin) or image folders (train/<class>/*.png, test/<class>/...)");
            }
            LoadedData data;
            try {
                data = DatasetLoader.load(folder);
            } catch (DataException e) {
                throw new BadInput("file", e.getMessage().replace(folder.toString(), name));
            }
            try {
                Files.move(folder, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
                throw new Conflict("name", "dataset " + name + " already exists");
            }
            LOG.info("dataset {} installed: {} bytes of archive unpacked to {} bytes", name, cost.read(), cost.written());
            ObjectNode n = JSON.createObjectNode();
            n.put("name", name);
            n.put("format", detected);
            n.put("train", data.train().size());
            n.put("test", data.test().size());
            n.put("classes", data.train().numClasses());
            return n;
        } finally {
            delete(tmp);
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
