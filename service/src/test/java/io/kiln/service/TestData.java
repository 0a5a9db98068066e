package io.kiln.service;

import io.kiln.engine.data.SyntheticData;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Small learnable 8x8 IDX datasets ({@link SyntheticData}) and a job spec that trains an MLP on them; the engine's
 * weights files made by real PyTorch.
 */
public final class TestData {
    private TestData() {
    }

    public static Path write(Path dataRoot, String name, int train, int test, int classes) throws IOException {
        return SyntheticData.writeIdx(dataRoot, name, train, test, classes, 8, name.hashCode());
    }

    /** A job spec for the tiny data: an MLP trained for {@code epochs} epochs. */
    public static String spec(String name, String data, int epochs) {
        return """
                {"name":"%s","data":{"name":"%s","validationSplit":0.2},
                 "model":{"layers":[{"type":"flatten"},{"type":"dense","units":16},{"type":"relu"},{"type":"dense","units":4}]},
                 "optimizer":{"type":"sgd","lr":0.05,"momentum":0.9},"training":{"epochs":%d,"batchSize":32,"seed":1},
                 "device":"cpu"}""".formatted(name, data, epochs);
    }

    /**
     * A CPU job for the tiny data whose training memory (two 30,000-unit layers: 3.6 GB of weights, as much again of
     * gradients and of momentum) no test machine's worker gets: refused at submission where jobs run on this machine,
     * left to the batch system's placement where they do not.
     */
    public static String tooLargeForHere(String name) {
        return spec(name, "tiny", 1).replace("{\"type\":\"dense\",\"units\":16}",
                "{\"type\":\"dense\",\"units\":30000},{\"type\":\"relu\"},{\"type\":\"dense\",\"units\":30000}");
    }

    /**
     * A file of the engine's PyTorch fixtures (engine/src/test/resources/pytorch, made by make_fixtures.py there):
     * {@code resnet18_w4.pt} and {@code .safetensors} (a width-4 ResNet-18 for 5 classes of 3x48x48), {@code mlp_bn.pt}.
     */
    public static Path pytorchFixture(String file) {
        Path p = Path.of("..", "engine", "src", "test", "resources", "pytorch", file).toAbsolutePath().normalize();
        if (!java.nio.file.Files.isRegularFile(p)) {
            throw new IllegalStateException("the engine's PyTorch fixture " + p + " is missing (tests run in service/)");
        }
        return p;
    }
}
