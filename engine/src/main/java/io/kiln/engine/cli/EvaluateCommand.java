package io.kiln.engine.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.Backends;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.data.DataException;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.spec.SpecParser;
import io.kiln.engine.train.Trainer;
import io.kiln.engine.data.PreparedData;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code evaluate --checkpoint FILE [--data-root DIR] [--device D]}: test loss and accuracy of saved weights. */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = "Loads a checkpoint's weights and evaluates them on its dataset's test set.")
final class EvaluateCommand implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, paramLabel = "FILE")
    Path checkpointFile;

    @Option(names = "--data-root", paramLabel = "DIR")
    Path dataRoot;

    @Option(names = "--device", paramLabel = "D", defaultValue = "auto")
    String device;

    @Override
    public Integer call() {
        JsonLines events = new JsonLines(System.out);
        try {
            Checkpoint ckpt = Checkpoint.read(checkpointFile);
            JobSpec spec = SpecParser.parse(ckpt.spec());
            PreparedData data = Trainer.loadData(spec, dataRoot != null ? dataRoot : EngineDefaults.dataRoot());
            try (Backend backend = Backends.create(device); Trainer trainer = new Trainer(spec, backend, data)) {
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
        } catch (IOException e) {
            return TrainCommand.error(events, "cannot read " + checkpointFile + ": " + e.getMessage(), TrainCommand.EXIT_BAD_INPUT);
        } catch (SpecException | DataException | Checkpoint.CheckpointException | Backends.DeviceUnavailableException e) {
            return TrainCommand.error(events, e.getMessage(), TrainCommand.EXIT_BAD_INPUT);
        }
    }
}
