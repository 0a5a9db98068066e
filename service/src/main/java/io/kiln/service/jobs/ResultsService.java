package io.kiln.service.jobs;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.data.DataException;
import io.kiln.engine.data.Dataset;
import io.kiln.engine.data.ImageSamples;
import io.kiln.engine.report.ClassificationReport;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecParser;
import io.kiln.engine.train.Inference;
import io.kiln.engine.train.Trainer;
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
import java.util.ArrayList;
import java.util.List;

/**
 * What a trained job gives back: the HTML report on its test set and predictions for uploaded images. Both run
 * the engine in this process on the CPU (inference is light next to training) from the job's checkpoint; the
 * report is kept beside the checkpoint and rebuilt when the checkpoint changes.
 */
@Singleton
public class ResultsService {
    private static final ObjectMapper JSON = new ObjectMapper();
    static final int MAX_PREDICT_IMAGES = 64;
    /** Test images a report shows unless asked otherwise, and the most it shows (each is inlined as a PNG). */
    static final int DEFAULT_REPORT_IMAGES = 100;
    static final int MAX_REPORT_IMAGES = 2000;
    private final KilnPaths paths;

    public ResultsService(KilnPaths paths) {
        this.paths = paths;
    }

    /** The job's report with {@code images} test images (default 100, at most 2000). */
    public synchronized String report(JobRow job, @Nullable Integer images) throws IOException {
        int shown = images == null ? DEFAULT_REPORT_IMAGES : Math.max(0, Math.min(images, MAX_REPORT_IMAGES));
        Path ckptFile = checkpointOf(job);
        Path cached = paths.jobDir(job.id()).resolve("report-" + shown + ".html");
        if (Files.isRegularFile(cached)
                && Files.getLastModifiedTime(cached).compareTo(Files.getLastModifiedTime(ckptFile)) >= 0) {
            return Files.readString(cached);
        }
        Checkpoint ckpt = Checkpoint.read(ckptFile);
        JobSpec spec = SpecParser.parse(ckpt.spec());
        Dataset test;
        try {
            test = Trainer.loadData(spec, paths.dataRoot()).test();
        } catch (DataException e) {
            throw new Conflict("cannot load the job's test data: " + e.getMessage());
        }
        ClassificationReport report;
        try (CpuBackend backend = new CpuBackend(); Inference inference = new Inference(backend, ckpt)) {
            report = new ClassificationReport(test, inference.scores(test), inference.loss());
        }
        String html = report.html("Job " + job.id() + ": " + job.name(), List.of(
                new String[] {"job", job.id() + " (" + job.name() + ")"},
                new String[] {"user", job.userName()},
                new String[] {"state", job.state()},
                new String[] {"dataset", spec.data().name()},
                new String[] {"epochs trained", Integer.toString(ckpt.epoch())}), shown);
        Files.writeString(cached, html);
        return html;
    }

    public ObjectNode predict(JobRow job, List<CompletedFileUpload> files) throws IOException {
        if (files.isEmpty()) {
            throw new BadInput("images", "upload one or more PNG or JPEG files");
        }
        if (files.size() > MAX_PREDICT_IMAGES) {
            throw new BadInput("images", "at most " + MAX_PREDICT_IMAGES + " per request, got " + files.size());
        }
        List<byte[]> bytes = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (CompletedFileUpload f : files) {
            bytes.add(f.getBytes());
            names.add(f.getFilename());
        }
        Checkpoint ckpt = Checkpoint.read(checkpointOf(job));
        ObjectNode out = JSON.createObjectNode();
        out.put("jobId", Long.toString(job.id()));
        ArrayNode list = out.putArray("predictions");
        try (CpuBackend backend = new CpuBackend(); Inference inference = new Inference(backend, ckpt)) {
            Dataset set = ImageSamples.of(bytes, names, inference.sampleShape(), inference.classNames());
            new ClassificationReport(set, inference.scores(set), inference.loss()).predictions(names).forEach(list::add);
        } catch (DataException e) {
            throw new BadInput("images", e.getMessage());
        }
        return out;
    }

    private Path checkpointOf(JobRow job) {
        Path file = paths.checkpoint(job.id());
        if (!Files.isRegularFile(file)) {
            throw new NotFound("job " + job.id() + " has no checkpoint yet");
        }
        return file;
    }
}
