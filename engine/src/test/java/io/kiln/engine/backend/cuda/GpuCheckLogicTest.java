package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.Activation;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.Precision;
import io.kiln.engine.backend.cpu.CpuBackend;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * gpu-check's own logic, without a GPU: the CPU backend stands in for the device, first as it is (every check
 * must pass, so that on a GPU a failure means the GPU differs), then made wrong by known amounts
 * ({@link PerturbedBackend}): off by ten times an operation's documented tolerance every check of it must
 * FAIL, saying where, and off by a tenth of it every check must pass. A comparison that read one side twice,
 * a check that ran the wrong operation on the device, or a tolerance looser or tighter than documented by a
 * factor of ten would each break one of these.
 */
class GpuCheckLogicTest {
    @AutoClose
    static final CpuBackend ONE_THREAD = new CpuBackend(1);
    @AutoClose
    static final CpuBackend TWO_THREADS = new CpuBackend(2);

    /** The tolerance GpuCheck's javadoc gives each operation in fp32 (atol = rtol); 0 means bit for bit. */
    static double documented(String op, Activation f) {
        return switch (op) {
            case "gemm", "conv2dForward", "conv2dBackwardData", "conv2dBackwardFilter" -> 1e-4;
            case "biasBackward", "softmax", "loss", "batchNormForwardTraining", "batchNormForwardInference",
                 "batchNormBackward" -> 1e-4;
            case "activationForward", "activationBackward" -> f == Activation.RELU ? 1e-6 : 1e-5;
            case "lstmCellForward", "lstmCellBackward" -> 1e-5;
            case "upload", "fill", "copy", "dropoutForward", "embeddingForward", "argmax" -> 0;
            default -> 1e-6; // addBias, pooling, add, multiply, axpy, scale, embeddingBackward, the optimizer updates
        };
    }

    static List<GpuCheck.Result> check(Backend device, Precision precision) {
        return GpuCheck.run(device, ONE_THREAD, precision, r -> { });
    }

    /** gpu-check with every value the device backend reads back off by the perturbation's relative amount. */
    static List<GpuCheck.Result> checkResultsOffBy(PerturbedBackend.Perturbation off, Precision precision) {
        return check(PerturbedBackend.of(TWO_THREADS, PerturbedBackend.Where.RESULTS, off), precision);
    }

    static Set<String> failed(List<GpuCheck.Result> results) {
        return results.stream().filter(r -> !r.passed()).map(GpuCheck.Result::op)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    static Set<String> passed(List<GpuCheck.Result> results) {
        return results.stream().filter(GpuCheck.Result::passed).map(GpuCheck.Result::op)
                .collect(Collectors.toCollection(TreeSet::new));
    }

    static String lines(List<GpuCheck.Result> results) {
        return results.stream().map(GpuCheck.Result::line).collect(Collectors.joining("\n"));
    }

    @Test
    void everyCheckRunsAndPassesCpuAgainstCpu() {
        List<GpuCheck.Result> results = check(TWO_THREADS, Precision.FP32);
        assertEquals(Set.of(), failed(results), lines(results));
        assertTrue(results.size() > 100, "only " + results.size() + " checks");
        assertTrue(results.stream().anyMatch(r -> r.op().startsWith("training steps")));
    }

    /** Ten times the documented tolerance (a thousandth where it is 0), uploads exact. */
    static double tenTimes(String op, Activation f) {
        return op.equals("upload") ? 0 : documented(op, f) == 0 ? 1e-3 : 10 * documented(op, f);
    }

    static final String TRAINING = "training steps";

    @Test
    void everyCheckFailsWhenTheDeviceIsOffByTenTimesItsTolerance() {
        List<GpuCheck.Result> results = checkResultsOffBy(GpuCheckLogicTest::tenTimes, Precision.FP32);
        Set<String> passed = passed(results);
        // the inputs are exact; the training steps have a looser tolerance of their own (the next test)
        assertTrue(passed.remove("upload/download"), lines(results));
        assertTrue(!passed.isEmpty() && passed.stream().allMatch(op -> op.startsWith(TRAINING)), lines(results));
        for (GpuCheck.Result r : results) {
            if (!r.passed()) {
                assertTrue(r.line().startsWith("FAIL ") && r.detail().contains(": device ")
                        && r.detail().contains(", cpu "), "a FAIL line names the element and both values: " + r.line());
                assertTrue(r.worst() > 1.5, r.line());
            }
        }
    }

    @Test
    void everyCheckPassesWhenTheDeviceIsOffByATenthOfItsTolerance() {
        List<GpuCheck.Result> results = checkResultsOffBy((op, f) -> documented(op, f) / 10, Precision.FP32);
        assertEquals(Set.of(), failed(results), lines(results));
        assertTrue(results.stream().filter(r -> r.op().startsWith("gemm")).allMatch(r -> r.worst() > 0.01),
                "the perturbation reached the comparison:\n" + lines(results));
    }

    @Test
    void theTrainingStepsHaveTheirOwnLooserTolerance() {
        // every value read back off by r: the training steps' weights and outputs pass through two reads
        assertTrue(failed(checkResultsOffBy((op, f) -> 2e-2, Precision.FP32)).stream()
                .anyMatch(op -> op.startsWith(TRAINING)), "10 x 2e-3 must fail");
        assertTrue(failed(checkResultsOffBy((op, f) -> 1e-4, Precision.FP32)).stream()
                .noneMatch(op -> op.startsWith(TRAINING)), "2 x 2e-3 / 20 must pass");
    }

    /** The operations whose results a GPU rounds differently (another summation order, TF32, its own exp and tanh). */
    static final Set<String> ROUNDED = Set.of("gemm", "conv2dForward", "conv2dBackwardData", "conv2dBackwardFilter",
            "batchNormForwardTraining", "batchNormForwardInference", "batchNormBackward", "biasBackward", "loss",
            "softmax");

    static boolean rounded(String op, Activation f) {
        return ROUNDED.contains(op) || op.startsWith("activation") && f != Activation.RELU;
    }

    /**
     * A correct GPU still differs from the CPU by rounding, and the training steps carry those differences through
     * three updates: they must pass with relative, zero-mean noise well above what fp32 (about 1e-6) and TF32 (about
     * 3e-4 for a product) make. An optimizer that turns noise into steps of a fixed size (Adam on a gradient that
     * is zero but for rounding, as a convolution's bias before batch norm has) would fail here on every GPU.
     */
    @Test
    void theTrainingStepsPassWithTheRoundingDifferencesOfARealGpu() {
        Backend fp32 = PerturbedBackend.of(TWO_THREADS, PerturbedBackend.Where.NOISE, (op, f) -> rounded(op, f) ? 1e-4 : 0);
        List<GpuCheck.Result> a = check(fp32, Precision.FP32);
        assertEquals(4, a.stream().filter(r -> r.op().startsWith(TRAINING)).count(), lines(a));
        assertTrue(failed(a).stream().noneMatch(op -> op.startsWith(TRAINING)), lines(a));
        Backend tf32 = PerturbedBackend.of(TWO_THREADS, PerturbedBackend.Where.NOISE,
                (op, f) -> op.equals("gemm") || op.startsWith("conv2d") ? 1e-3 : rounded(op, f) ? 1e-5 : 0);
        List<GpuCheck.Result> b = check(tf32, Precision.TF32);
        assertTrue(failed(b).stream().noneMatch(op -> op.startsWith(TRAINING)), lines(b));
    }

    /** A wrong operation: its outputs are off as soon as it runs, and whatever computes with them is too. */
    static Backend wrong(String operation, double r) {
        return PerturbedBackend.of(TWO_THREADS, PerturbedBackend.Where.OUTPUTS, (op, f) -> op.equals(operation) ? r : 0);
    }

    @Test
    void aPerturbedOperationFailsItsOwnChecksOnly() {
        List<GpuCheck.Result> add = check(wrong("add", 1e-5), Precision.FP32);
        assertEquals(Set.of("add", "add in place"), failed(add), lines(add));

        List<GpuCheck.Result> filter = check(wrong("conv2dBackwardFilter", 1e-3), Precision.FP32);
        Set<String> failed = failed(filter);
        long filterChecks = filter.stream().filter(r -> r.op().startsWith("conv2dBackwardFilter ")).count();
        assertEquals(5, filterChecks);
        assertTrue(failed.stream().filter(op -> op.startsWith("conv2dBackwardFilter ")).count() == filterChecks
                        && failed.stream().allMatch(op -> op.startsWith("conv2dBackwardFilter ")
                        || op.startsWith(TRAINING)), lines(filter));

        List<GpuCheck.Result> upload = check(wrong("upload", 1e-7), Precision.FP32);
        assertTrue(failed(upload).contains("upload/download"), lines(upload));
    }

    @Test
    void tf32LoosensTheMatrixProductsAndConvolutionsOnly() {
        // ten times the fp32 tolerance everywhere is a tenth of TF32's 1e-2 for GEMM and convolutions
        List<GpuCheck.Result> results = checkResultsOffBy(GpuCheckLogicTest::tenTimes, Precision.TF32);
        Set<String> passed = passed(results);
        assertTrue(passed.contains("upload/download"), lines(results));
        passed.remove("upload/download");
        passed.removeIf(op -> op.startsWith(TRAINING));
        assertTrue(!passed.isEmpty() && passed.stream().allMatch(op -> op.startsWith("gemm ") || op.startsWith("conv2d")),
                String.join("\n", passed));
        assertEquals(results.stream().filter(r -> r.op().startsWith("gemm ") || r.op().startsWith("conv2d")).count(),
                passed.size(), lines(results));
    }
}
