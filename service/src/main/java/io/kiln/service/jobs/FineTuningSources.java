package io.kiln.service.jobs;

import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.train.PretrainedFit;
import io.kiln.engine.weights.WeightFiles;
import io.kiln.service.access.JobAccess;
import io.kiln.service.auth.Caller;
import io.kiln.service.config.KilnPaths;
import io.kiln.service.models.ModelService;
import io.kiln.service.store.JobRepository;
import io.kiln.service.store.JobRow;
import io.kiln.service.store.ModelRow;
import io.micronaut.core.annotation.Nullable;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a fine-tuning job starts from, as the service resolves a spec's {@code init}: another job's checkpoint
 * ({@code init.fromJob}) or an uploaded pretrained model ({@code init.model}). At submission each is checked
 * (it exists, the caller may use it, and a model's weights fit the job's model for its data); at launch each
 * becomes the file the worker is given.
 */
@Singleton
public class FineTuningSources {
    private final JobRepository jobs;
    private final JobAccess access;
    private final ModelService models;
    private final DatasetFacts datasets;
    private final KilnPaths paths;

    public FineTuningSources(JobRepository jobs, JobAccess access, ModelService models, DatasetFacts datasets,
                             KilnPaths paths) {
        this.jobs = jobs;
        this.access = access;
        this.models = models;
        this.datasets = datasets;
        this.paths = paths;
    }

    /** Refuses, naming the field, a spec whose {@code init} the caller may not use or that does not fit. */
    void check(JobSpec spec, Caller caller) {
        JobSpec.Init init = spec.init();
        if (init == null) {
            return;
        }
        if (init.checkpoint() != null) {
            throw new SpecException("init.checkpoint", "a file path is for the engine's command line; through the "
                    + "service, fine-tune from a job with \"fromJob\" or from an uploaded model with \"model\"");
        }
        if (init.fromJob() != null) {
            long from = jobId(init);
            JobRow source = jobs.findById(from).orElseThrow(() -> new SpecException("init.fromJob", "no job " + from));
            access.requireResults(source, caller, JobAccess.Result.FINE_TUNING, "init.fromJob");
            if (!Files.isRegularFile(paths.checkpoint(from))) {
                throw new SpecException("init.fromJob", "job " + from + " has no checkpoint yet");
            }
        }
        if (init.model() != null) {
            ModelRow model = models.forFineTuning(caller, init.model());
            DatasetFacts.Facts data = datasets.of(spec.data());
            try {
                PretrainedFit.check(spec, data.sampleShape(), data.classes(), WeightFiles.read(models.file(model)),
                        "model " + model.name());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the weights of model " + model.name(), e);
            }
        }
    }

    /** The checkpoint a job's worker starts from ({@code init.fromJob}), or null. */
    @Nullable
    public Path checkpoint(JobSpec spec) {
        return spec.init() == null || spec.init().fromJob() == null ? null : paths.checkpoint(jobId(spec.init()));
    }

    /**
     * The pretrained weights a job's worker starts from ({@code init.model}), or null.
     *
     * @throws IllegalStateException when the model is gone since the job was submitted
     */
    @Nullable
    public Path weights(JobSpec spec) {
        if (spec.init() == null || spec.init().model() == null) {
            return null;
        }
        String name = spec.init().model();
        return models.file(models.find(name).orElseThrow(() -> new IllegalStateException("model " + name
                + " that init.model names no longer exists")));
    }

    private static long jobId(JobSpec.Init init) {
        try {
            return Long.parseLong(init.fromJob());
        } catch (NumberFormatException e) {
            throw new SpecException("init.fromJob", "must be a job id, got \"" + init.fromJob() + "\"");
        }
    }
}
