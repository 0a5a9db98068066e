package io.kiln.engine.bench;

import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecParser;
import java.util.List;

/**
 * The five models of the speed table in the shared device notes, as job specs, with the batch sizes used
 * there, so Kiln's figures compare directly with PyTorch's.
 */
public final class BenchModels {
    public static final List<String> NAMES = List.of("mlp", "mlp512", "cnn", "vgg11", "resnet20");

    private BenchModels() {
    }

    public record BenchModel(String name, int batch, int[] input, int classes, JobSpec spec) {
    }

    public static BenchModel get(String name) {
        return switch (name) {
            case "mlp" -> of(name, 100, new int[] {1, 28, 28}, "{\"preset\":\"mlp\",\"hidden\":[100]}");
            case "mlp512" -> of(name, 128, new int[] {1, 28, 28}, "{\"preset\":\"mlp\",\"hidden\":[512]}");
            // PyTorch's MNIST example network.
            case "cnn" -> of(name, 64, new int[] {1, 28, 28}, """
                    {"layers":[{"type":"conv2d","filters":32,"kernel":3},{"type":"relu"},
                      {"type":"conv2d","filters":64,"kernel":3},{"type":"relu"},{"type":"maxpool2d","size":2},
                      {"type":"dropout","rate":0.25},{"type":"flatten"},{"type":"dense","units":128},{"type":"relu"},
                      {"type":"dropout","rate":0.5},{"type":"dense","units":10}]}""");
            case "vgg11" -> of(name, 128, new int[] {3, 32, 32}, "{\"preset\":\"vgg11\"}");
            case "resnet20" -> of(name, 128, new int[] {3, 32, 32}, "{\"preset\":\"resnet20\"}");
            default -> throw new IllegalArgumentException("unknown model \"" + name + "\"; known: " + NAMES);
        };
    }

    private static BenchModel of(String name, int batch, int[] input, String model) {
        String json = "{\"name\":\"bench-" + name + "\",\"data\":{\"name\":\"synthetic\"},\"model\":" + model
                + ",\"optimizer\":{\"type\":\"sgd\",\"lr\":0.01,\"momentum\":0.9},"
                + "\"training\":{\"epochs\":1,\"batchSize\":" + batch + "}}";
        return new BenchModel(name, batch, input, 10, SpecParser.parse(json));
    }
}
