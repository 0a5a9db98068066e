package io.kiln.engine.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.engine.backend.LossKind;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.loss.Losses;
import io.kiln.engine.nn.Layer;
import io.kiln.engine.nn.Model;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecParser;
import io.kiln.engine.train.Inference;
import io.kiln.engine.tensor.Tensor;
import java.nio.FloatBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The ONNX export of every preset, and of a layer list with every layer type, run by ONNX Runtime: the same
 * logits (and probabilities) as Kiln's evaluation-mode forward pass within 1e-4, at two batch sizes (the batch
 * dimension is symbolic), with the class names in the metadata. Batch-norm running statistics are set to random
 * values first, so the export is seen to use them.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class OnnxExportTest {
    static final float TOLERANCE = 1e-4f;
    static CpuBackend backend;
    static OrtEnvironment env;

    @BeforeAll
    static void start() {
        backend = new CpuBackend(2);
        env = OrtEnvironment.getEnvironment();
    }

    @AfterAll
    static void stop() {
        backend.close();
    }

    static final String EVERY_LAYER = """
            [{"type":"conv2d","filters":4,"kernel":3,"padding":1},{"type":"batchnorm"},{"type":"tanh"},
             {"type":"maxpool2d","size":3,"stride":2,"padding":1},{"type":"avgpool2d","size":3,"stride":1,"padding":1},
             {"type":"residual","layers":[{"type":"conv2d","filters":4,"kernel":3,"padding":1,"bias":false},
                                          {"type":"batchnorm"},{"type":"sigmoid"}]},
             {"type":"residual","layers":[{"type":"conv2d","filters":6,"kernel":1,"stride":2}],
              "shortcut":[{"type":"conv2d","filters":6,"kernel":1,"stride":2,"bias":false}]},
             {"type":"flatten"},{"type":"dense","units":10,"bias":false},{"type":"batchnorm"},{"type":"dropout","rate":0.3},
             {"type":"relu"},{"type":"dense","units":3}]""";

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "logistic | {\"preset\":\"logistic\"} | 1,8,8 | 2 | logistic",
            "softmax | {\"preset\":\"softmax\"} | 1,8,8 | 3 | softmax_cross_entropy",
            "svm | {\"preset\":\"svm\"} | 1,8,8 | 3 | multiclass_hinge",
            "mlp | {\"preset\":\"mlp\",\"hidden\":[12,8],\"batchnorm\":true,\"dropout\":0.2} | 1,8,8 | 4 | softmax_cross_entropy",
            "lenet | {\"preset\":\"lenet\",\"dropout\":0.5} | 1,28,28 | 10 | softmax_cross_entropy",
            "vgg11 | {\"preset\":\"vgg11\"} | 3,32,32 | 10 | softmax_cross_entropy",
            "resnet20 | {\"preset\":\"resnet20\"} | 3,32,32 | 10 | softmax_cross_entropy",
            "resnet18 | {\"preset\":\"resnet18\"} | 3,224,224 | 1000 | softmax_cross_entropy",
            "resnet34 | {\"preset\":\"resnet34\",\"width\":16} | 3,64,64 | 7 | softmax_cross_entropy",
            "every layer type | {\"layers\":EVERY} | 3,9,9 | 3 | mse"})
    void onnxRuntimeGivesKilnsOutputs(String name, String model, String input, int classes, String loss) throws Exception {
        int[] shape = Arrays.stream(input.split(",")).mapToInt(Integer::parseInt).toArray();
        JobSpec spec = SpecParser.parse("{\"data\":{\"name\":\"x\"},\"model\":" + model.replace("EVERY", EVERY_LAYER)
                + ",\"loss\":\"" + loss + "\",\"optimizer\":{\"lr\":0.1},\"training\":{\"seed\":5}}");
        LossKind kind = Losses.of(loss);
        try (Model m = Model.build(backend, spec, shape, classes)) {
            randomiseRunningStatistics(m);
            List<String> classNames = java.util.stream.IntStream.range(0, m.outputShape()[0]).mapToObj(i -> "c" + i).toList();
            byte[] onnx = OnnxExporter.export(backend, m, kind, Map.of("classNames", OnnxExporter.json(classNames)),
                    name, "test");
            try (OrtSession session = env.createSession(onnx, new OrtSession.SessionOptions())) {
                JsonNode names = OnnxExporter.json(classNames);
                assertEquals(names.toString(), session.getMetadata().getCustomMetadata().get("classNames"));
                for (int batch : new int[] {1, 3}) {
                    compare(m, kind, session, shape, batch, name + " batch " + batch);
                }
            }
        }
    }

    private static void compare(Model m, LossKind kind, OrtSession session, int[] shape, int batch, String what)
            throws OrtException {
        int[] full = Tensor.batchShape(batch, shape);
        float[] x = new float[Tensor.sizeOf(full)];
        SplittableRandom rng = new SplittableRandom(batch);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rng.nextGaussian();
        }
        float[] kiln;
        float[] kilnProb = null;
        try (Tensor t = backend.fromHost(x, full)) {
            Tensor out = m.forward(t, false);
            kiln = backend.toHost(out);
            if (kind.givesProbabilities()) {
                kilnProb = Inference.reported(backend, kind, out);
            }
        }
        long[] dims = Arrays.stream(full).asLongStream().toArray();
        try (OnnxTensor in = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), dims);
             OrtSession.Result r = session.run(Map.of(OnnxExporter.INPUT, in))) {
            assertClose(kiln, flat(r.get(OnnxExporter.LOGITS).orElseThrow().getValue()), what + " logits");
            if (kilnProb != null) {
                assertClose(kilnProb, flat(r.get(OnnxExporter.PROBABILITIES).orElseThrow().getValue()),
                        what + " probabilities");
            } else {
                assertTrue(r.get(OnnxExporter.PROBABILITIES).isEmpty(), "no probabilities for raw scores");
            }
        }
    }

    private static float[] flat(Object value) {
        float[][] rows = (float[][]) value;
        float[] out = new float[rows.length * rows[0].length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, out, i * rows[0].length, rows[0].length);
        }
        return out;
    }

    static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        float worst = 0;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]) / Math.max(1f, Math.abs(expected[i])));
        }
        if (!(worst <= TOLERANCE)) {
            fail(what + ": ONNX Runtime differs from Kiln by " + worst + " (relative to max(1, |x|)) > " + TOLERANCE);
        }
    }

    /** Random running means around 0 and variances around 1, so that evaluation-mode batch norm does something. */
    static void randomiseRunningStatistics(Model m) {
        SplittableRandom rng = new SplittableRandom(11);
        for (Layer.NamedTensor b : m.buffers()) {
            float[] v = new float[b.tensor().size()];
            boolean variance = b.name().endsWith("running_var");
            for (int i = 0; i < v.length; i++) {
                v[i] = variance ? (float) (0.5 + rng.nextDouble()) : (float) (0.2 * rng.nextGaussian());
            }
            backend.upload(v, b.tensor());
        }
    }

    @Test
    void theBatchDimensionIsSymbolic() throws Exception {
        JobSpec spec = SpecParser.parse("{\"data\":{\"name\":\"x\"},\"model\":{\"preset\":\"softmax\"},\"optimizer\":{\"lr\":0.1}}");
        try (Model m = Model.build(backend, spec, new int[] {1, 2, 2}, 2);
             OrtSession s = env.createSession(OnnxExporter.export(backend, m, LossKind.SOFTMAX_CROSS_ENTROPY, Map.of(), "g", "d"),
                     new OrtSession.SessionOptions())) {
            long[] inShape = ((ai.onnxruntime.TensorInfo) s.getInputInfo().get(OnnxExporter.INPUT).getInfo()).getShape();
            assertEquals(List.of(-1L, 1L, 2L, 2L), Arrays.stream(inShape).boxed().toList());
            assertEquals(13, OnnxModelBuilder.OPSET);
        }
    }
}
