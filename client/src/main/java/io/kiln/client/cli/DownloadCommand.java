package io.kiln.client.cli;

import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "download", mixinStandardHelpOptions = true, description = "Saves a job's checkpoint (trained weights), or with --onnx its model as ONNX.")
final class DownloadCommand extends JobCommandBase {
    @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE")
    Path file;

    @Option(names = "--onnx", description = "the trained model as ONNX (opset 13, dynamic batch size) instead of the "
            + "checkpoint")
    boolean onnx;

    @Override
    public Integer call() {
        long bytes = onnx ? client().downloadOnnx(id, file) : client().downloadCheckpoint(id, file);
        out().println("saved job " + id + "'s " + (onnx ? "ONNX model" : "checkpoint") + " to " + file + " (" + bytes
                + " bytes)");
        return 0;
    }
}
