package io.kiln.engine.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.data.PreparedData;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecParser;
import io.kiln.engine.train.Trainer;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code evaluate --checkpoint FILE [--data-root DIR] [--device D]}: test loss and accuracy of saved weights. */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = "Loads a checkpoint's weights and evaluates them on its dataset's test set.")
final class EvaluateCommand extends CheckpointCommandBase {
    @Option(names = "--data-root", paramLabel = "DIR")
    Path dataRoot;

    @Override
    int run(JsonLines events, Checkpoint ckpt, Backend backend) {
        JobSpec spec = SpecParser.parse(ckpt.spec());
        PreparedData data = Trainer.loadData(spec, dataRoot(dataRoot));
        try (Trainer trainer = new Trainer(spec, backend, data)) {
            trainer.loadWeights(ckpt);
            Trainer.Evaluation test = trainer.evaluate(data.test());
            ObjectNode n = events.event("evaluation");
            n.put("epoch", ckpt.epoch());
            JsonLines.number(n, "test_loss", test.loss());
            JsonLines.number(n, "test_acc", test.accuracy());
            n.put("samples", test.samples());
            events.emit(n);
        }
        return 0;
    }
}
