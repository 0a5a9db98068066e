package io.kiln.engine.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.data.Dataset;
import io.kiln.engine.report.ClassificationReport;
import io.kiln.engine.train.Inference;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code predict --checkpoint FILE IMAGE...}: classifies images with trained weights. */
@Command(name = "predict", mixinStandardHelpOptions = true,
        description = "Classifies PNG or JPEG images with a checkpoint's weights (resized and converted to the model's "
                + "input, or through the evaluation transform of its data.transform); prints one JSON object per image with "
                + "the predicted class and every class's score.")
final class PredictCommand extends CheckpointCommandBase {
    @Parameters(arity = "1..*", paramLabel = "IMAGE")
    List<Path> images;

    @Override
    int run(JsonLines events, Checkpoint ckpt, Backend backend) throws IOException {
        List<byte[]> bytes = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (Path p : images) {
            bytes.add(Files.readAllBytes(p));
            names.add(p.toString());
        }
        try (Inference inference = new Inference(backend, ckpt)) {
            Dataset set = inference.samples(bytes, names);
            ClassificationReport scored = new ClassificationReport(set, inference.scores(set), inference.loss());
            for (ObjectNode n : scored.predictions(names)) {
                events.emit(n);
            }
        }
        return 0;
    }
}
