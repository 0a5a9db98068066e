package io.kiln.engine.cli;

import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.Backends;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.data.DataException;
import io.kiln.engine.spec.SpecException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Option;

/**
 * A command that works from a checkpoint's weights on a backend (evaluate, report, predict): the shared
 * options, and the one answer to bad input (an error event and exit 2).
 */
abstract class CheckpointCommandBase implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, paramLabel = "FILE", description = "a checkpoint written by train")
    Path checkpointFile;

    @Option(names = "--device", paramLabel = "D", defaultValue = "auto", description = "auto, cpu, cuda or cuda:N")
    String device;

    /** Does the work and returns the exit code. */
    abstract int run(JsonLines events, Checkpoint checkpoint, Backend backend) throws IOException;

    @Override
    public final Integer call() {
        JsonLines events = new JsonLines(System.out);
        try {
            Checkpoint ckpt = Checkpoint.read(checkpointFile);
            try (Backend backend = Backends.create(device)) {
                return run(events, ckpt, backend);
            }
        } catch (IOException e) {
            return TrainCommand.error(events, "I/O error: " + e.getMessage(), TrainCommand.EXIT_BAD_INPUT);
        } catch (SpecException e) {
            // the spec comes from the checkpoint: say which file holds it
            return TrainCommand.error(events, checkpointFile + ": the job spec it holds: " + e.getMessage(),
                    TrainCommand.EXIT_BAD_INPUT);
        } catch (DataException | Checkpoint.CheckpointException | Backends.DeviceUnavailableException e) {
            return TrainCommand.error(events, e.getMessage(), TrainCommand.EXIT_BAD_INPUT);
        }
    }

    /** --data-root when given, else the default from the environment. */
    static Path dataRoot(Path option) {
        return option != null ? option : EngineDefaults.dataRoot();
    }
}
