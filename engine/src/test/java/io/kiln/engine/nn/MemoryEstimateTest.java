package io.kiln.engine.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.spec.SpecParser;
import org.junit.jupiter.api.Test;

class MemoryEstimateTest {
    static io.kiln.engine.spec.JobSpec spec(String model, int batch, String optimizer) {
        return SpecParser.parse("{\"data\":{\"name\":\"d\"},\"model\":" + model + ",\"optimizer\":" + optimizer
                + ",\"training\":{\"batchSize\":" + batch + "}}");
    }

    @Test
    void mlpCountsParametersStateAndActivations() {
        MemoryEstimate e = MemoryEstimate.of(spec("{\"preset\":\"mlp\",\"hidden\":[100]}", 100,
                "{\"type\":\"sgd\",\"lr\":0.1,\"momentum\":0.9}"), new int[] {1, 28, 28}, 10);
        long params = 784 * 100 + 100 + 100 * 10 + 10;
        assertEquals(params, e.parameters());
        assertEquals(params * 4 * 3, e.parameterBytes(), "weights, gradients and the momentum buffer");
        // input batch, the outputs of flatten (784), dense (100), relu (100), dense (10), three of the largest
        // for the shared input gradients
        long activations = 100L * 784 + 100L * (784 + 100 + 100 + 10) + 3L * 100 * 784;
        assertEquals(activations * 4, e.activationBytes());
        assertTrue(e.totalBytes() > e.parameterBytes() + e.activationBytes());
        assertTrue(e.describe().contains("79,510 parameters"), e.describe());
    }

    @Test
    void adamKeepsTwoStateTensorsAndBatchScalesActivations() {
        String model = "{\"preset\":\"resnet20\"}";
        MemoryEstimate small = MemoryEstimate.of(spec(model, 32, "{\"type\":\"adam\",\"lr\":0.001}"), new int[] {3, 32, 32}, 10);
        MemoryEstimate large = MemoryEstimate.of(spec(model, 256, "{\"type\":\"adam\",\"lr\":0.001}"), new int[] {3, 32, 32}, 10);
        assertEquals(small.parameters() * 4 * 4, small.parameterBytes());
        assertEquals(8.0, (double) large.activationBytes() / small.activationBytes(), 1e-9);
        // ResNet20 at batch 256: about 0.5 GB of activations, far below a GTX 1050 Ti's 4 GiB.
        assertTrue(large.totalBytes() < (4L << 30), large.describe());
    }
}
