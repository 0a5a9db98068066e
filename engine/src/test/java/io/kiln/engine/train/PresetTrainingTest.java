package io.kiln.engine.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecParser;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every preset trains a few steps on tiny synthetic data (IDX greyscale for the small models, CIFAR-10 binary
 * files written in the official format for VGG11 and ResNet20): the loss is finite and falls, and the model
 * classifies the held-out test images well above chance.
 */
class PresetTrainingTest {
    @TempDir
    static Path root;

    @BeforeAll
    static void data() throws IOException {
        TinyData.write(root, "grey", 64, 16, 2, 28, 5);
        writeCifar(root.resolve("cifar"), 48, 16);
    }

    /** CIFAR-10 binary: records of 1 label byte and 3072 pixel bytes (red, green, blue planes of 32x32). */
    static void writeCifar(Path dir, int train, int test) throws IOException {
        Files.createDirectories(dir);
        SplittableRandom rng = new SplittableRandom(9);
        for (String file : List.of("data_batch_1.bin", "test_batch.bin")) {
            int n = file.startsWith("data") ? train : test;
            try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(dir.resolve(file)))) {
                for (int i = 0; i < n; i++) {
                    int label = rng.nextInt(10);
                    out.write(label);
                    for (int p = 0; p < 3072; p++) {
                        // Each class tints a different colour plane and band of rows.
                        int plane = p / 1024;
                        int row = (p % 1024) / 32;
                        boolean lit = plane == label % 3 && row / 4 == label % 8;
                        out.write(rng.nextInt(60) + (lit ? 180 : 0));
                    }
                }
            }
        }
    }

    /**
     * minTestAcc is well above chance (1/2 for the grey data, 1/10 for the CIFAR-format data) and below what
     * each preset reaches on the held-out test images (all of them for the grey presets; 13 and 11 of 16 for
     * VGG11 and ResNet20), so it fails when a preset stops learning.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(textBlock = """
            logistic, grey,  logistic,              0.05, 16, 0.9
            softmax,  grey,  softmax_cross_entropy, 0.05, 16, 0.9
            svm,      grey,  multiclass_hinge,      0.01, 16, 0.9
            mlp,      grey,  softmax_cross_entropy, 0.05, 16, 0.9
            lenet,    grey,  softmax_cross_entropy, 0.05, 16, 0.9
            vgg11,    cifar, softmax_cross_entropy, 0.01, 8,  0.5
            resnet20, cifar, softmax_cross_entropy, 0.02, 8,  0.4
            """)
    void trainsAFewSteps(String preset, String data, String loss, double lr, int batch, double minTestAcc) {
        JobSpec spec = SpecParser.parse("""
                {"data":{"name":"%s"},"model":{"preset":"%s"},"loss":"%s",
                 "optimizer":{"type":"sgd","lr":%s,"momentum":0.9},"training":{"epochs":3,"batchSize":%d,"seed":2}}"""
                .formatted(data, preset, loss, lr, batch));
        List<TrainingListener.Epoch> epochs = new ArrayList<>();
        Trainer.Result result;
        try (CpuBackend b = new CpuBackend(); Trainer t = new Trainer(spec, b, Trainer.loadData(spec, root))) {
            result = t.run(new TrainingListener() {
                @Override
                public void onEpoch(Epoch e) {
                    epochs.add(e);
                }
            }, null, null);
        }
        assertEquals(3, epochs.size());
        double first = epochs.get(0).trainLoss();
        double last = epochs.get(2).trainLoss();
        assertTrue(Double.isFinite(last), preset + " loss finite");
        assertTrue(last < first, preset + ": training loss falls, " + first + " -> " + last);
        assertTrue(result.testAcc() >= minTestAcc, preset + ": test accuracy " + result.testAcc() + " after 3 epochs, "
                + "expected at least " + minTestAcc + " (training loss " + first + " -> " + last + ")");
    }
}
