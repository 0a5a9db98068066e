package io.kiln.service.models;

import io.kiln.engine.weights.WeightFiles;
import io.kiln.engine.weights.WeightTensor;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.weights.WeightsException;
import io.kiln.service.access.ModelAccess;
import io.kiln.service.auth.Caller;
import io.kiln.service.config.KilnLimits;
import io.kiln.service.config.KilnPaths;
import io.kiln.service.errors.BadInput;
import io.kiln.service.errors.Conflict;
import io.kiln.service.errors.NotFound;
import io.kiln.service.errors.TooLarge;
import io.kiln.service.store.ModelRepository;
import io.kiln.service.store.ModelRow;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.data.exceptions.DataAccessException;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Uploaded pretrained models: weights files (PyTorch's {@code torch.save} zip or safetensors) kept under a name
 * that job specs use as {@code init.model}. An upload is bounded by {@code kiln.model-limit-bytes} while it is
 * written, then read whole by the engine's restricted reader (which refuses a pickle naming any global beyond a
 * state dict's) before it is kept; who may see and use a model is {@link ModelAccess}'s.
 */
@Singleton
public class ModelService {
    /** Model names: what a dataset's may be, so that one rule serves both. */
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    static final List<String> EXTENSIONS = List.of(".pt", ".pth", ".safetensors");
    private final ModelRepository models;
    private final ModelAccess access;
    private final KilnLimits limits;
    private final KilnPaths paths;

    public ModelService(ModelRepository models, ModelAccess access, KilnLimits limits, KilnPaths paths) {
        this.models = models;
        this.access = access;
        this.limits = limits;
        this.paths = paths;
    }

    /** Checks and keeps an uploaded weights file as model {@code name}, owned by the caller. */
    public ModelRow upload(Caller caller, @Nullable String name, @Nullable String fileName, InputStream content,
                           boolean shared) throws IOException {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new BadInput("name", "must be 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        String lower = fileName == null ? "" : fileName.toLowerCase(Locale.ROOT);
        if (EXTENSIONS.stream().noneMatch(lower::endsWith)) {
            throw new BadInput("file", "must be a .pt or .pth file (torch.save of a state_dict) or a .safetensors "
                    + "file, got " + (fileName == null || fileName.isBlank() ? "no file name" : "\"" + fileName + "\""));
        }
        if (models.existsByName(name)) {
            throw new Conflict("name", "a model named " + name + " exists already; choose another name");
        }
        Files.createDirectories(paths.modelsDir());
        Path tmp = Files.createTempFile(paths.modelsDir(), ".upload-", ".tmp");
        try {
            String sha256 = copyBounded(content, tmp);
            Map<String, WeightTensor> tensors;
            try {
                tensors = WeightFiles.read(tmp);
            } catch (WeightsException | java.util.zip.ZipException | java.io.EOFException e) {
                // A damaged or hostile upload is the user's to fix, not a server error.
                throw new BadInput("file", fileName + ": " + withoutPath(e.getMessage(), tmp));
            }
            long parameters = tensors.values().stream().mapToLong(t -> t.values().length).sum();
            String format = isZip(tmp) ? "pytorch" : "safetensors";
            ModelRow row;
            try {
                row = models.save(new ModelRow(null, name, caller.name(), format, fileName, Files.size(tmp),
                        tensors.size(), parameters, sha256, shared, Instant.now()));
            } catch (DataAccessException e) {
                // Another upload of the same name won the race since the check above.
                throw new Conflict("name", "a model named " + name + " exists already; choose another name");
            }
            try {
                Files.move(tmp, paths.model(row.id()), StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                models.deleteById(row.id());
                throw e;
            }
            return row;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The models the caller may see, by name: an admin's are all. */
    public List<ModelRow> list(Caller caller) {
        return caller.admin() ? models.findAllByName() : models.findVisibleTo(caller.name());
    }

    /** One model, for a caller who may see it. */
    public ModelRow get(Caller caller, String name) {
        ModelRow m = models.findByName(name).orElseThrow(() -> new NotFound("no model " + name
                + " (GET /api/v1/models lists those you may use)"));
        access.requireUse(m, caller, null);
        return m;
    }

    /**
     * The model a job spec's {@code init.model} names, for a caller who may fine-tune from it.
     *
     * @throws SpecException naming {@code init.model} when there is no such model
     * @throws io.kiln.service.errors.Forbidden naming {@code init.model} when the model is another's and not shared
     */
    public ModelRow forFineTuning(Caller caller, String name) {
        ModelRow m = models.findByName(name).orElseThrow(() -> new SpecException("init.model", "no model " + name
                + " (GET /api/v1/models lists those you may use; POST /api/v1/models uploads one)"));
        access.requireUse(m, caller, "init.model");
        return m;
    }

    /** The model by name, whoever asks (the scheduler starting a job that was checked at submission). */
    public java.util.Optional<ModelRow> find(String name) {
        return models.findByName(name);
    }

    /** Shares the model with the lab, or stops sharing it; its owner or an admin only. */
    public ModelRow share(Caller caller, String name, boolean shared) {
        ModelRow m = models.findByName(name).orElseThrow(() -> new NotFound("no model " + name));
        access.requireOwnerOrAdmin(m, caller, shared ? "share" : "stop sharing");
        models.updateShared(m.id(), shared);
        return models.findById(m.id()).orElseThrow();
    }

    /** The weights file of a model. */
    public Path file(ModelRow model) {
        return paths.model(model.id());
    }

    private String copyBounded(InputStream in, Path target) throws IOException {
        long limit = limits.modelLimitBytes();
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (OutputStream out = new DigestOutputStream(Files.newOutputStream(target), sha)) {
            byte[] buf = new byte[1 << 16];
            long total = 0;
            int n;
            while ((n = in.read(buf)) > 0) {
                total += n;
                if (total > limit) {
                    throw new TooLarge("file", "the weights file is larger than kiln.model-limit-bytes (" + limit
                            + " bytes)");
                }
                out.write(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static boolean isZip(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] b = in.readNBytes(2);
            return b.length == 2 && b[0] == 'P' && b[1] == 'K';
        }
    }

    /** The reader's message names the temporary file; the user knows their file by its own name. */
    private static String withoutPath(String message, Path tmp) {
        return message.replace(tmp.toString() + ": ", "").replace(tmp.toString(), "the file");
    }
}
