package io.kiln.service.jobs;

import io.kiln.engine.data.DataException;
import io.kiln.engine.data.Dataset;
import io.kiln.engine.data.DatasetLoader;
import io.kiln.engine.data.LoadedData;
import io.kiln.engine.data.ResizePad;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.train.Trainer;
import io.kiln.service.config.KilnPaths;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the server knows of a dataset that a submission is checked against: its sample shape, class count and the
 * bytes its samples take in a worker's memory, as a job sees it (through its transform). Read by loading it once,
 * then kept while its folder is unchanged.
 */
@Singleton
public class DatasetFacts {
    /** One dataset's facts; {@code bytes} is what its samples and labels take in memory, stored as the engine does. */
    public record Facts(int[] sampleShape, int classes, long samples, long bytes) {
    }

    private record Known(FileTime modified, Facts facts) {
    }

    private final KilnPaths paths;
    private final Map<String, Known> known = new ConcurrentHashMap<>();

    public DatasetFacts(KilnPaths paths) {
        this.paths = paths;
    }

    /**
     * The facts of the spec's dataset as its job sees it: through its {@code data.transform}, if it has one.
     *
     * @throws SpecException naming {@code data.name} when the dataset cannot be read
     */
    public Facts of(JobSpec.Data data) {
        String name = data.name();
        Path folder = paths.dataset(name);
        FileTime modified;
        try {
            modified = Files.getLastModifiedTime(folder);
        } catch (IOException e) {
            throw new SpecException("data.name", "dataset \"" + name + "\" cannot be read: " + e.getMessage());
        }
        JobSpec.Transform t = data.transform();
        String key = t == null ? name : name + " " + t.randomResizedCrop() + " " + t.resize() + " " + t.centerCrop();
        Known k = known.get(key);
        if (k == null || !k.modified().equals(modified)) {
            k = new Known(modified, read(data));
            known.put(key, k);
        }
        return resized(k.facts(), Trainer.resizePad(data));
    }

    /** The facts as a job with data.resize or data.pad sees them: its samples resized and padded. */
    private static Facts resized(Facts f, ResizePad resizePad) {
        if (resizePad == null) {
            return f;
        }
        int[] shape = resizePad.outputShape(f.sampleShape());
        long sampleBytes = (long) shape[0] * shape[1] * shape[2];
        return new Facts(shape, f.classes(), f.samples(), f.samples() * (sampleBytes + Integer.BYTES));
    }

    private Facts read(JobSpec.Data spec) {
        LoadedData data;
        try {
            data = DatasetLoader.load(paths.dataRoot(), spec.name(), Trainer.imageTransform(spec));
        } catch (DataException e) {
            throw new SpecException(e.getMessage().startsWith("data.transform") ? "data.transform" : "data.name",
                    e.getMessage().replaceFirst("^data\\.transform: ", ""));
        }
        Dataset train = data.train();
        int[] shape = train.sampleShape();
        long sampleBytes = (long) shape[0] * shape[1] * shape[2];
        long samples = (long) train.size() + data.test().size();
        // Pixels as bytes, an int label each.
        return new Facts(shape, train.numClasses(), samples, samples * (sampleBytes + Integer.BYTES));
    }
}
