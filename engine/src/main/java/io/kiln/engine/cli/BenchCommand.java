package io.kiln.engine.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.Backends;
import io.kiln.engine.bench.Bench;
import io.kiln.engine.bench.BenchModels;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code bench [--device D] [--models LIST] [--seconds S] [--precision P]}. */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Training-step throughput of the built-in models with the data already on the device; "
                + "prints one JSON object per model.")
final class BenchCommand implements Callable<Integer> {
    @Option(names = "--device", paramLabel = "D", defaultValue = "auto")
    String device;

    @Option(names = "--models", paramLabel = "LIST", split = ",", defaultValue = "mlp,mlp512,cnn,vgg11,resnet20",
            description = "comma-separated, from: mlp, mlp512, cnn, vgg11, resnet20 (default: all)")
    List<String> models;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "10", description = "measured time per model")
    double seconds;

    @Mixin
    PrecisionOption precision;

    @Override
    public Integer call() {
        JsonLines events = new JsonLines(System.out);
        for (String m : models) {
            if (!BenchModels.NAMES.contains(m)) {
                System.err.println("unknown model \"" + m + "\"; known: " + BenchModels.NAMES);
                return TrainCommand.EXIT_BAD_INPUT;
            }
        }
        if (!(seconds > 0)) {
            System.err.println("--seconds must be > 0");
            return TrainCommand.EXIT_BAD_INPUT;
        }
        try (Backend backend = Backends.create(device, precision.parse())) {
            for (String m : models) {
                Bench.Result r = Bench.run(backend, BenchModels.get(m), seconds);
                ObjectNode n = events.event("bench");
                n.remove("event");
                n.put("model", r.model());
                n.put("batch", r.batch());
                n.put("img_per_s", Math.round(r.imagesPerSecond() * 10) / 10.0);
                n.put("device", backend.name());
                n.put("steps", r.steps());
                events.emit(n);
            }
            return 0;
        } catch (Backends.DeviceUnavailableException | IllegalArgumentException e) {
            System.err.println(e.getMessage());
            return TrainCommand.EXIT_BAD_INPUT;
        }
    }
}
