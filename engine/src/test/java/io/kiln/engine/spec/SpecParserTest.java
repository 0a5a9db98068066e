package io.kiln.engine.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.backend.PoolMode;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SpecParserTest {
    static final String CONTRACT_EXAMPLE = """
            {
              "name": "fashion-mlp",
              "data": {"name": "fashion-mnist", "validationSplit": 0.1},
              "model": {"input": [1, 28, 28],
                        "layers": [{"type": "flatten"}, {"type": "dense", "units": 100}, {"type": "relu"},
                                   {"type": "dense", "units": 10}]},
              "loss": "softmax_cross_entropy",
              "optimizer": {"type": "sgd", "lr": 0.01, "momentum": 0.9, "weightDecay": 0.0},
              "training": {"epochs": 10, "batchSize": 100, "seed": 0, "precision": "fp32"},
              "device": "auto"
            }""";
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void parsesTheContractExample() {
        JobSpec spec = SpecParser.parse(CONTRACT_EXAMPLE);
        assertEquals("fashion-mlp", spec.name());
        assertEquals("fashion-mnist", spec.data().name());
        assertEquals(0.1, spec.data().validationSplit());
        assertEquals(4, spec.model().layers().size());
        assertEquals(new LayerSpec.Dense(100, true, LayerSpec.Init.HE), spec.model().layers().get(1));
        assertEquals("sgd", spec.optimizer().type());
        assertEquals(0.9, spec.optimizer().momentum());
        assertEquals(10, spec.training().epochs());
        assertEquals("auto", spec.device());
    }

    @Test
    void fillsDefaults() {
        JobSpec spec = SpecParser.parse("""
                {"data":{"name":"d"},"model":{"preset":"mlp"},"optimizer":{"lr":0.1}}""");
        assertEquals("job", spec.name());
        assertEquals("softmax_cross_entropy", spec.loss());
        assertEquals(new JobSpec.Training(10, 100, 0, "fp32"), spec.training());
        assertEquals("sgd", spec.optimizer().type());
        assertEquals("scale", spec.data().normalize());
        assertNull(spec.optimizer().schedule());
        assertEquals("mlp", spec.model().preset());
    }

    @Test
    void parsesEveryLayerType() {
        JobSpec spec = SpecParser.parse(with(s -> ((ObjectNode) s.get("model")).set("layers", array("""
                [{"type":"conv2d","filters":8,"kernel":3,"stride":2,"padding":1,"bias":false,"init":"xavier"},
                 {"type":"batchnorm","momentum":0.2},{"type":"relu"},{"type":"sigmoid"},{"type":"tanh"},
                 {"type":"maxpool2d"},{"type":"avgpool2d","size":3,"stride":1,"padding":1},
                 {"type":"residual","layers":[{"type":"conv2d","filters":8,"kernel":3,"padding":1}]},
                 {"type":"dropout","rate":0.25},{"type":"flatten"},{"type":"dense","units":10}]"""))));
        var layers = spec.model().layers();
        assertEquals(new LayerSpec.Conv2d(8, 3, 2, 1, false, LayerSpec.Init.XAVIER), layers.get(0));
        assertEquals(new LayerSpec.BatchNorm(0.2, 1e-5), layers.get(1));
        assertEquals(new LayerSpec.Pool2d(PoolMode.MAX, 2, 2, 0), layers.get(5));
        assertEquals(new LayerSpec.Pool2d(PoolMode.AVERAGE, 3, 1, 1), layers.get(6));
        LayerSpec.Residual r = assertInstanceOf(LayerSpec.Residual.class, layers.get(7));
        assertTrue(r.shortcut().isEmpty());
        assertEquals(new LayerSpec.Dropout(0.25), layers.get(8));
    }

    /** Each rule, with the field the message must name. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            units 0                 | /model/layers/1/units=0            | model.layers[1].units    | between 1 and
            units text              | /model/layers/1/units="ten"        | model.layers[1].units    | must be an integer
            unknown layer type      | /model/layers/2/type="relu6"       | model.layers[2].type     | must be one of
            unknown top field       | /epochs=3                          | epochs                   | unknown field
            unknown nested field    | /optimizer/learning_rate=0.1       | optimizer.learning_rate  | unknown field
            negative lr             | /optimizer/lr=-1                   | optimizer.lr             | must be >
            zero lr                 | /optimizer/lr=0                    | optimizer.lr             | must be >
            optimizer type          | /optimizer/type="lbfgs"            | optimizer.type           | must be one of
            momentum too big        | /optimizer/momentum=1.5            | optimizer.momentum       | must be >=
            weight decay negative   | /optimizer/weightDecay=-0.1        | optimizer.weightDecay    | must be >=
            loss                    | /loss="hinge"                      | loss                     | must be one of
            epochs 0                | /training/epochs=0                 | training.epochs          | between 1 and
            batch too large         | /training/batchSize=1000000        | training.batchSize       | between 1 and
            precision               | /training/precision="bf16"         | training.precision       | must be one of
            fp16 not yet            | /training/precision="fp16"         | training.precision       | not supported yet
            device                  | /device="gpu"                      | device                   | must be auto
            split too big           | /data/validationSplit=0.95         | data.validationSplit     | must be >=
            data name with slash    | /data/name="../etc"                | data.name                | folder name
            missing data name       | /data/name=null                    | data.name                | is required
            input rank              | /model/input=[1,2,3,4]             | model.input              | array of 1 to 3
            field of another layer  | /model/layers/2/rate=1             | model.layers[2].rate     | unknown field
            name empty              | /name=" "                          | name                     | 1 to 200
            """)
    void rejectsWithTheFieldNamed(String rule, String edit, String field, String message) {
        SpecException e = assertThrows(SpecException.class, () -> SpecParser.parse(edited(edit)), rule);
        assertEquals(field, e.field(), rule + ": " + e.getMessage());
        assertTrue(e.getMessage().contains(message), rule + ": message was \"" + e.getMessage() + "\"");
        assertTrue(e.getMessage().startsWith(field + ": "), e.getMessage());
    }

    @Test
    void rejectsBadLayerOptions() {
        assertField("model.layers[0].rate", "[{\"type\":\"dropout\",\"rate\":1.0}]");
        assertField("model.layers[0].padding", "[{\"type\":\"maxpool2d\",\"size\":2,\"padding\":2}]");
        assertField("model.layers[0].kernel", "[{\"type\":\"conv2d\",\"filters\":3}]");
        assertField("model.layers[0].layers", "[{\"type\":\"residual\",\"layers\":[]}]");
        assertField("model.layers[0].layers[0].units", "[{\"type\":\"residual\",\"layers\":[{\"type\":\"dense\",\"units\":-1}]}]");
        assertField("model.layers[0].activation", "[{\"type\":\"dense\",\"units\":3,\"activation\":\"relu\"}]");
        assertField("model.layers", "[]");
    }

    @Test
    void modelNeedsLayersOrPresetButNotBoth() {
        assertEquals("model.layers", assertThrows(SpecException.class, () -> SpecParser.parse(with(s ->
                ((ObjectNode) s.get("model")).remove("layers")))).field());
        assertEquals("model.preset", assertThrows(SpecException.class, () -> SpecParser.parse(with(s ->
                ((ObjectNode) s.get("model")).put("preset", "mlp")))).field());
    }

    @Test
    void presetOptionsAreChecked() {
        SpecException e = assertThrows(SpecException.class, () -> SpecParser.parse(
                "{\"data\":{\"name\":\"d\"},\"model\":{\"preset\":\"mlp\",\"hidden\":[0]},\"optimizer\":{\"lr\":0.1}}"));
        assertEquals("model.hidden[0]", e.field());
        e = assertThrows(SpecException.class, () -> SpecParser.parse(
                "{\"data\":{\"name\":\"d\"},\"model\":{\"preset\":\"resnet21\"},\"optimizer\":{\"lr\":0.1}}"));
        assertEquals("model.preset", e.field());
        e = assertThrows(SpecException.class, () -> SpecParser.parse(
                "{\"data\":{\"name\":\"d\"},\"model\":{\"preset\":\"vgg11\",\"hidden\":[3]},\"optimizer\":{\"lr\":0.1}}"));
        assertEquals("model.hidden", e.field());
    }

    @Test
    void schedules() {
        JobSpec step = SpecParser.parse(edited("/optimizer/schedule={\"type\":\"step\",\"every\":3,\"gamma\":0.5}"));
        assertEquals(new JobSpec.Schedule("step", 3, 0.5, 0), step.optimizer().schedule());
        JobSpec cos = SpecParser.parse(edited("/optimizer/schedule={\"type\":\"cosine\"}"));
        assertEquals("cosine", cos.optimizer().schedule().type());
        assertEquals("optimizer.schedule.every", assertThrows(SpecException.class, () ->
                SpecParser.parse(edited("/optimizer/schedule={\"type\":\"step\"}"))).field());
        assertEquals("optimizer.schedule.type", assertThrows(SpecException.class, () ->
                SpecParser.parse(edited("/optimizer/schedule={\"type\":\"linear\"}"))).field());
    }

    @Test
    void nesterovNeedsMomentum() {
        SpecException e = assertThrows(SpecException.class, () ->
                SpecParser.parse(edited("/optimizer={\"type\":\"sgd\",\"lr\":0.1,\"nesterov\":true}")));
        assertEquals("optimizer.nesterov", e.field());
    }

    @Test
    void optimizerFieldsBelongToTheirType() {
        // Adam has no momentum: a field meant for another optimizer is reported, not ignored.
        SpecException e = assertThrows(SpecException.class, () ->
                SpecParser.parse(edited("/optimizer={\"type\":\"adam\",\"lr\":0.001,\"momentum\":0.9}")));
        assertEquals("optimizer.momentum", e.field());
        JobSpec adam = SpecParser.parse(edited("/optimizer={\"type\":\"adam\",\"lr\":0.001,\"beta2\":0.99}"));
        assertEquals(0.99, adam.optimizer().beta2());
    }

    @Test
    void invalidJsonSaysWhere() {
        SpecException e = assertThrows(SpecException.class, () -> SpecParser.parse("{\"name\": }"));
        assertTrue(e.getMessage().contains("not valid JSON") && e.getMessage().contains("line 1"), e.getMessage());
    }

    @Test
    void jsonNestedTooDeepForTheParserIsABadSpecNotACrash() {
        String deep = "[".repeat(10_000) + "]".repeat(10_000);
        SpecException e = assertThrows(SpecException.class, () -> SpecParser.parse("{\"name\":" + deep + "}"));
        assertEquals("", e.field());
        assertTrue(e.getMessage().contains("not valid JSON") && e.getMessage().contains("nesting depth"), e.getMessage());
    }

    private static void assertField(String field, String layers) {
        SpecException e = assertThrows(SpecException.class, () -> SpecParser.parse(with(s ->
                ((ObjectNode) s.get("model")).set("layers", array(layers)))));
        assertEquals(field, e.field(), e.getMessage());
    }

    /** The contract example with one JSON-pointer edit "/a/b=VALUE" (VALUE in JSON, null removes the field). */
    static String edited(String edit) {
        int eq = edit.indexOf('=');
        String pointer = edit.substring(0, eq);
        String value = edit.substring(eq + 1);
        return with(root -> {
            int slash = pointer.lastIndexOf('/');
            var parent = root.at(pointer.substring(0, slash));
            String key = pointer.substring(slash + 1);
            try {
                var v = JSON.readTree(value);
                if (parent instanceof ArrayNode a) {
                    a.set(Integer.parseInt(key), v);
                } else if (v.isNull()) {
                    ((ObjectNode) parent).remove(key);
                } else {
                    ((ObjectNode) parent).set(key, v);
                }
            } catch (Exception e) {
                throw new IllegalArgumentException(edit, e);
            }
        });
    }

    static String with(Consumer<ObjectNode> change) {
        try {
            ObjectNode root = (ObjectNode) JSON.readTree(CONTRACT_EXAMPLE);
            change.accept(root);
            return JSON.writeValueAsString(root);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static ArrayNode array(String json) {
        try {
            return (ArrayNode) JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
