package io.kiln.service.jobs;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.nn.MemoryEstimate;
import io.kiln.engine.spec.SpecParser;
import org.junit.jupiter.api.Test;

/**
 * The refusal of a job too large for the GPU (the check itself runs only on servers with GPUs, which CI lacks;
 * here its decision and message are checked with the figures of a real estimate).
 */
class MemoryCheckTest {
    @Test
    void refusesWithBothFiguresWhenTheEstimateExceedsTheGpu() {
        MemoryEstimate vgg = MemoryEstimate.of(SpecParser.parse("{\"data\":{\"name\":\"c\"},\"model\":{\"preset\":\"vgg11\"},"
                + "\"optimizer\":{\"lr\":0.1,\"momentum\":0.9},\"training\":{\"batchSize\":4096}}"), new int[] {3, 32, 32}, 10);
        String message = MemoryCheck.refusal(vgg, "NVIDIA GeForce GTX 1050 Ti", 4L << 30).orElseThrow();
        assertTrue(message.contains("GTX 1050 Ti") && message.contains("4.0 GiB") && message.contains(MemoryEstimate.gib(vgg.totalBytes()))
                && message.contains("lower training.batchSize"), message);
        assertTrue(MemoryCheck.refusal(vgg, "NVIDIA H100 80GB HBM3", 80L << 30).isEmpty(), "fits an H100: " + vgg.describe());
    }
}
