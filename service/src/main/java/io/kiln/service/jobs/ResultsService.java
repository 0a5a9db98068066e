package io.kiln.service.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.data.DataException;
import io.kiln.engine.data.Dataset;
import io.kiln.engine.onnx.CheckpointExport;
import io.kiln.engine.report.CaptionReport;
import io.kiln.engine.report.ClassificationReport;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecParser;
import io.kiln.engine.train.Inference;
import io.kiln.engine.train.Trainer;
import io.kiln.service.config.KilnLimits;
import io.kiln.service.config.KilnPaths;
import io.kiln.service.errors.BadInput;
import io.kiln.service.errors.Conflict;
import io.kiln.service.errors.NotFound;
import io.kiln.service.store.JobRow;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.multipart.CompletedFileUpload;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What a trained job gives back: the HTML report on its test set, predictions for uploaded images (prepared as the
 * job's evaluation data were, through its spec's resize and centre crop), and the model as ONNX. Each runs the
 * engine in this process on the CPU (inference is light next to training) from the job's checkpoint; the ONNX
 * file is kept beside the checkpoint and rebuilt when the checkpoint changes.
 *
 * <p>A report shows one of kiln.report-sizes test images (a request is rounded up to one) and is kept beside the
 * checkpoint ({@link ReportCache}, at most kiln.report-cache-bytes per job) until the checkpoint changes. Reports
 * of different jobs render at the same time; requests for a report being rendered wait for that rendering.
 */
@Singleton
public class ResultsService {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Test images a report shows unless asked otherwise. */
    static final int DEFAULT_REPORT_IMAGES = 100;
    static final String ONNX_FILE = "model.onnx";
    private final KilnPaths paths;
    private final KilnLimits limits;
    private final ReportCache cache;
    /** Reports being rendered, by job and size. */
    private final Map<String, CompletableFuture<String>> rendering = new ConcurrentHashMap<>();

    public ResultsService(KilnPaths paths, KilnLimits limits) {
        this.paths = paths;
        this.limits = limits;
        this.cache = new ReportCache(paths, limits.reportCacheBytes());
    }

    /** The report size a request for {@code images} gets. */
    public int reportSize(@Nullable Integer images) {
        int asked = images == null ? DEFAULT_REPORT_IMAGES : images;
        if (asked < 0) {
            throw new BadInput("images", "must be 0 or more, got " + asked);
        }
        return limits.reportSize(asked);
    }

    /** The job's report with about {@code images} test images (rounded up to one of kiln.report-sizes). */
    public String report(JobRow job, @Nullable Integer images) throws IOException {
        int shown = reportSize(images);
        Path ckptFile = checkpointOf(job);
        var cached = cache.get(job.id(), shown, ckptFile);
        if (cached.isPresent()) {
            return cached.get();
        }
        String key = job.id() + ":" + shown;
        CompletableFuture<String> mine = new CompletableFuture<>();
        CompletableFuture<String> running = rendering.putIfAbsent(key, mine);
        if (running != null) {
            return await(running);
        }
        try {
            String html = render(job, ckptFile, shown);
            cache.put(job.id(), shown, html);
            mine.complete(html);
            return html;
        } catch (IOException | RuntimeException e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            rendering.remove(key, mine);
        }
    }

    /** The report files a job keeps (for operators and tests). */
    public List<Path> cachedReports(long jobId) throws IOException {
        return cache.files(jobId);
    }

    private static String await(CompletableFuture<String> f) throws IOException {
        try {
            return f.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw e;
        }
    }

    /**
     * The report's numbers (accuracy, classes, confusion matrix, per-class accuracy) as JSON, for a page to show;
     * kept beside the checkpoint until the checkpoint changes.
     */
    public ObjectNode summary(JobRow job) throws IOException {
        Path ckptFile = checkpointOf(job);
        Path cached = paths.jobDir(job.id()).resolve("report-summary.json");
        if (fresh(cached, ckptFile)) {
            return (ObjectNode) JSON.readTree(cached.toFile());
        }
        Checkpoint ckpt = readCheckpoint(job, ckptFile);
        if (CaptionReport.isCaptioning(ckpt)) {
            throw new Conflict("job " + job.id() + " is a captioning job: its report has captions, not a confusion matrix");
        }
        ObjectNode n = classify(job, ckpt, SpecParser.parse(ckpt.spec())).summary();
        // written aside and moved, so that a reader at the same time never sees half a file
        Path part = Files.createTempFile(cached.getParent(), "report-summary", ".part");
        Files.writeString(part, n.toString());
        Files.move(part, cached, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return n;
    }

    private String render(JobRow job, Path ckptFile, int shown) throws IOException {
        Checkpoint ckpt = readCheckpoint(job, ckptFile);
        JobSpec spec = SpecParser.parse(ckpt.spec());
        String title = "Job " + job.id() + ": " + job.name();
        List<String[]> facts = List.of(
                new String[] {"job", job.id() + " (" + job.name() + ")"},
                new String[] {"user", job.userName()},
                new String[] {"state", job.state()},
                new String[] {"dataset", spec.data().name()},
                new String[] {"epochs trained", Integer.toString(ckpt.epoch())});
        if (CaptionReport.isCaptioning(ckpt)) {
            // a captioning job's page comes from its checkpoint alone: the figures and the last sampled captions
            return CaptionReport.html(ckpt, title, facts);
        }
        return classify(job, ckpt, spec).html(title, facts, shown);
    }

    /** The checkpoint's model on the job's test set. */
    private ClassificationReport classify(JobRow job, Checkpoint ckpt, JobSpec spec) throws IOException {
        Dataset test;
        try {
            test = Trainer.loadData(spec, paths.dataRoot()).test();
        } catch (DataException e) {
            throw new Conflict("cannot load the job's test data: " + e.getMessage());
        }
        try (CpuBackend backend = new CpuBackend(); Inference inference = inference(job, backend, ckpt)) {
            return new ClassificationReport(test, inference.scores(test), inference.loss());
        }
    }

    /** A result kept beside the checkpoint holds while the checkpoint is not newer. */
    private static boolean fresh(Path cached, Path ckptFile) throws IOException {
        return Files.isRegularFile(cached)
                && Files.getLastModifiedTime(cached).compareTo(Files.getLastModifiedTime(ckptFile)) >= 0;
    }

    public ObjectNode predict(JobRow job, List<CompletedFileUpload> files) throws IOException {
        if (files.isEmpty()) {
            throw new BadInput("images", "upload one or more PNG or JPEG files");
        }
        if (files.size() > limits.predictMaxImages()) {
            throw new BadInput("images", "at most " + limits.predictMaxImages() + " per request (kiln.predict-max-images), got "
                    + files.size());
        }
        List<byte[]> bytes = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (CompletedFileUpload f : files) {
            String name = f.getFilename() == null || f.getFilename().length() > 200 ? "image " + (names.size() + 1)
                    : f.getFilename();
            if (f.getSize() > limits.predictMaxImageBytes()) {
                ImageHeaders.check(name, f.getSize(), new byte[0], limits);
            }
            byte[] b = f.getBytes();
            ImageHeaders.check(name, b.length, b, limits);
            bytes.add(b);
            names.add(name);
        }
        Checkpoint ckpt = readCheckpoint(job, checkpointOf(job));
        ObjectNode out = JSON.createObjectNode();
        out.put("jobId", Long.toString(job.id()));
        ArrayNode list = out.putArray("predictions");
        try (CpuBackend backend = new CpuBackend(); Inference inference = inference(job, backend, ckpt)) {
            Dataset set = inference.samples(bytes, names);
            new ClassificationReport(set, inference.scores(set), inference.loss()).predictions(names).forEach(list::add);
        } catch (DataException e) {
            throw new BadInput("images", e.getMessage());
        }
        return out;
    }

    /** The job's model as ONNX ({@link CheckpointExport}): a file beside its checkpoint, made when it is older. */
    public synchronized Path onnx(JobRow job) throws IOException {
        Path ckptFile = checkpointOf(job);
        Path cached = paths.jobDir(job.id()).resolve(ONNX_FILE);
        if (fresh(cached, ckptFile)) {
            return cached;
        }
        Checkpoint ckpt = readCheckpoint(job, ckptFile);
        if (CaptionReport.isCaptioning(ckpt)) {
            throw new Conflict("job " + job.id() + " is a captioning job: only classifiers are exported as ONNX");
        }
        byte[] bytes;
        try (CpuBackend backend = new CpuBackend()) {
            bytes = CheckpointExport.onnx(backend, ckpt, "job " + job.id() + " (" + job.name() + "), epoch "
                    + ckpt.epoch());
        }
        Path tmp = Files.createTempFile(cached.getParent(), ONNX_FILE, ".tmp");
        try {
            Files.write(tmp, bytes);
            Files.move(tmp, cached, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return cached;
    }

    /** The checkpoint, or a 409 saying it is damaged when it cannot be read (truncated, its data changed). */
    private static Checkpoint readCheckpoint(JobRow job, Path file) {
        try {
            return Checkpoint.read(file);
        } catch (IOException | RuntimeException e) {
            if (!Files.isReadable(file)) {
                throw new NotFound("job " + job.id() + " has no readable checkpoint");
            }
            throw damaged(job, e);
        }
    }

    /** The model of a checkpoint; one whose tensors do not fit its own spec is damaged too. */
    private static Inference inference(JobRow job, CpuBackend backend, Checkpoint ckpt) {
        try {
            return new Inference(backend, ckpt);
        } catch (DataException e) {
            throw e;
        } catch (RuntimeException e) {
            throw damaged(job, e);
        }
    }

    private static Conflict damaged(JobRow job, Exception e) {
        String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return new Conflict("job " + job.id() + "'s checkpoint is damaged and cannot be read (" + why.replaceAll(
                "^/\\S+: ", "") + "); run the job again to have its weights");
    }

    private Path checkpointOf(JobRow job) {
        Path file = paths.checkpoint(job.id());
        if (!Files.isRegularFile(file)) {
            throw new NotFound("job " + job.id() + " has no checkpoint yet");
        }
        return file;
    }
}
