package io.kiln.engine.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.data.Dataset;
import io.kiln.engine.report.CaptionReport;
import io.kiln.engine.report.ClassificationReport;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecParser;
import io.kiln.engine.train.Inference;
import io.kiln.engine.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code report --checkpoint FILE [--data-root DIR] [--out FILE] [--images N]}. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Writes a self-contained HTML report of a checkpoint on its test set: test images with predicted "
                + "and true class and class scores, the confusion matrix and per-class accuracy.")
final class ReportCommand extends CheckpointCommandBase {
    @Option(names = "--data-root", paramLabel = "DIR")
    Path dataRoot;

    @Option(names = "--out", paramLabel = "FILE", defaultValue = "report.html")
    Path out;

    @Option(names = "--images", paramLabel = "N", defaultValue = "100",
            description = "test images shown, and at most as many misclassified ones (default 100)")
    int images;

    @Override
    int run(JsonLines events, Checkpoint ckpt, Backend backend) throws IOException {
        JobSpec spec = SpecParser.parse(ckpt.spec());
        if (CaptionReport.isCaptioning(ckpt)) {
            Files.writeString(out, CaptionReport.html(ckpt, spec.name() + ": captions", List.of(
                    new String[] {"job", spec.name()},
                    new String[] {"dataset", spec.data().name()},
                    new String[] {"epochs trained", Integer.toString(ckpt.epoch())})));
            ObjectNode n = events.event("report");
            n.put("path", out.toString());
            events.emit(n);
            return 0;
        }
        Dataset test = Trainer.loadData(spec, dataRoot(dataRoot)).test();
        ClassificationReport report;
        try (Inference inference = new Inference(backend, ckpt)) {
            report = new ClassificationReport(test, inference.scores(test), inference.loss());
        }
        Files.writeString(out, report.html(spec.name() + ": test report", List.of(
                new String[] {"job", spec.name()},
                new String[] {"dataset", spec.data().name()},
                new String[] {"epochs trained", Integer.toString(ckpt.epoch())},
                new String[] {"checkpoint", checkpointFile.getFileName().toString()}), Math.max(0, images)));
        ObjectNode n = events.event("report");
        n.put("path", out.toString());
        n.put("test_acc", report.accuracy());
        events.emit(n);
        return 0;
    }
}
