package io.kiln.engine.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.nn.Model;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecParser;
import io.kiln.engine.tensor.Tensor;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The fixtures that {@code src/test/resources/pytorch/make_fixtures.py} made with real PyTorch: state dicts, inputs
 * and the logits PyTorch computed for them; and, where python3 can import torch, the same script run on the spot.
 */
public final class PyTorchFixtures {
    static final ObjectMapper JSON = new ObjectMapper();

    private PyTorchFixtures() {
    }

    /** One fixture of {@code fixtures.json}. */
    public record Fixture(String name, JsonNode json, Path dir) {
        public Path weights(int i) {
            return dir.resolve(json.get("weights").get(i).asText());
        }

        public int classes() {
            return json.get("classes").asInt();
        }

        public int[] input() {
            return ints(json.get("input"));
        }

        public int batch() {
            return json.get("batch").asInt();
        }

        public float[] inputs() throws IOException {
            byte[] b = Files.readAllBytes(dir.resolve(json.get("inputs").asText()));
            float[] f = new float[b.length / 4];
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
            return f;
        }

        public float[] logits() {
            List<Float> out = new ArrayList<>();
            json.get("logits").forEach(row -> row.forEach(v -> out.add((float) v.asDouble())));
            float[] f = new float[out.size()];
            for (int i = 0; i < f.length; i++) {
                f[i] = out.get(i);
            }
            return f;
        }

        /** A job spec of the fixture's preset and options (data and optimizer are placeholders). */
        public JobSpec spec() {
            ObjectNode model = JSON.createObjectNode().put("preset", json.get("preset").asText());
            if (json.has("options")) {
                model.setAll((ObjectNode) json.get("options"));
            }
            return SpecParser.parse("{\"data\":{\"name\":\"x\"},\"model\":" + model + ",\"optimizer\":{\"lr\":0.1}}");
        }

        public Model model(Backend backend) {
            return Model.build(backend, spec(), input(), classes());
        }
    }

    static int[] ints(JsonNode a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).asInt();
        }
        return out;
    }

    public static Path dir() {
        try {
            return Path.of(PyTorchFixtures.class.getResource("/pytorch/fixtures.json").toURI()).getParent();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    public static Fixture fixture(String name) throws IOException {
        JsonNode all = JSON.readTree(dir().resolve("fixtures.json").toFile());
        return new Fixture(name, all.get("fixtures").get(name), dir());
    }

    /** The model's evaluation-mode output for the fixture's inputs. */
    public static float[] kilnLogits(Backend backend, Model model, Fixture f) throws IOException {
        try (Tensor x = backend.fromHost(f.inputs(), Tensor.batchShape(f.batch(), f.input()))) {
            return backend.toHost(model.forward(x, false));
        }
    }

    /**
     * A python3 that can import torch ({@code KILN_TEST_PYTHON}, then {@code python3} on the path, then
     * {@code /usr/bin/python3}), or null.
     */
    public static String pythonWithTorch() {
        List<String> candidates = new ArrayList<>();
        String env = System.getenv("KILN_TEST_PYTHON");
        if (env != null && !env.isBlank()) {
            candidates.add(env);
        }
        candidates.add("python3");
        candidates.add("/usr/bin/python3");
        for (String py : candidates) {
            try {
                Process p = new ProcessBuilder(py, "-c", "import torch").redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) {
                    return py;
                }
                p.destroyForcibly();
            } catch (IOException e) {
                // not installed under this name
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
        return null;
    }
}
