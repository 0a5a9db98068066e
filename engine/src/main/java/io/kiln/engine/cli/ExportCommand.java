package io.kiln.engine.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.onnx.CheckpointExport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code export --checkpoint FILE --onnx OUT.onnx}: the model as ONNX. */
@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Writes a checkpoint's model as ONNX (opset 13, dynamic batch size) for other runtimes: input "
                + "'input' [batch, C, H, W], outputs 'logits' and, for softmax and logistic models, 'probabilities'; "
                + "the class names, input shape, normalisation and transform (or resize and pad) are in its metadata.")
final class ExportCommand extends CheckpointCommandBase {
    @Option(names = "--onnx", required = true, paramLabel = "OUT.onnx")
    Path onnx;

    @Override
    int run(JsonLines events, Checkpoint ckpt, Backend backend) throws IOException {
        byte[] bytes = CheckpointExport.onnx(backend, ckpt, checkpointFile.getFileName().toString());
        Path dir = onnx.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, onnx.getFileName().toString(), ".tmp");
        try {
            Files.write(tmp, bytes);
            Files.move(tmp, onnx, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        ObjectNode n = events.event("export");
        n.put("onnx", onnx.toString());
        n.put("bytes", bytes.length);
        n.put("opset", 13);
        events.emit(n);
        return 0;
    }
}
