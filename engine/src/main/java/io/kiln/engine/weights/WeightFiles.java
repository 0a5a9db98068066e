package io.kiln.engine.weights;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Reads a file of pretrained weights, PyTorch's {@code torch.save} zip or safetensors, recognised by its first
 * bytes rather than its name.
 */
public final class WeightFiles {
    private WeightFiles() {
    }

    /** The named tensors of the file, in file order. */
    public static Map<String, WeightTensor> read(Path file) throws IOException {
        return read(file, WeightLimits.fromSystemProperties());
    }

    public static Map<String, WeightTensor> read(Path file, WeightLimits limits) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new WeightsException(file + ": " + (Files.exists(file) ? "not a regular file" : "no such file"));
        }
        byte[] start;
        try (InputStream in = Files.newInputStream(file)) {
            start = in.readNBytes(16);
        }
        if (start.length >= 4 && start[0] == 'P' && start[1] == 'K' && start[2] == 3 && start[3] == 4) {
            return TorchFile.read(file, limits);
        }
        if (SafetensorsFile.detect(start, Files.size(file))) {
            return SafetensorsFile.read(file, limits);
        }
        if (start.length >= 2 && (start[0] & 0xFF) == 0x80 && start[1] <= 5) {
            throw new WeightsException(file + ": a bare pickle, which is PyTorch's legacy format (before 1.6, or "
                    + "_use_new_zipfile_serialization=False); load it in PyTorch and save it again with torch.save");
        }
        throw new WeightsException(file + ": neither a torch.save file (a zip archive) nor a safetensors file ("
                + start.length + (start.length == 1 ? " byte" : " bytes") + " read from its start)");
    }
}
