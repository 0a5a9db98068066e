package io.kiln.engine.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.spec.JobSpec;
import io.kiln.engine.spec.SpecException;
import io.kiln.engine.spec.SpecParser;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The plan of a model, from its spec alone: the shapes the built model has, and each refusal with its figures. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ModelPlanTest {
    /** 65,536 filters of 136x136 on an 8x8 input: 1.2 billion values a sample, 38.8 billion at a batch of 32. */
    private static final String HUGE_ACTIVATION = "{\"layers\":[{\"type\":\"conv2d\",\"filters\":65536,\"kernel\":1,"
            + "\"padding\":64},{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":10}]}";

    static JobSpec spec(String model, int batch) {
        return SpecParser.parse("{\"data\":{\"name\":\"d\"},\"model\":" + model
                + ",\"optimizer\":{\"type\":\"sgd\",\"lr\":0.1},\"training\":{\"batchSize\":" + batch + "}}");
    }

    static SpecException refused(String model, int batch, int[] shape, int classes) {
        return assertThrows(SpecException.class, () -> ModelPlan.of(spec(model, batch), shape, classes));
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"preset\":\"mlp\",\"hidden\":[30,20]}", "{\"preset\":\"lenet\"}",
            "{\"preset\":\"resnet20\"}", "{\"preset\":\"vgg11\"}",
            "{\"layers\":[{\"type\":\"conv2d\",\"filters\":4,\"kernel\":3,\"stride\":2,\"padding\":1},{\"type\":\"batchnorm\"},"
                    + "{\"type\":\"maxpool2d\",\"size\":3,\"stride\":2,\"padding\":1},{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":10}]}"})
    void thePlanHasTheBuiltModelsShapesAndParameters(String model) {
        JobSpec s = spec(model, 16);
        int[] shape = {3, 32, 32};
        ModelPlan plan = ModelPlan.of(s, shape, 10);
        try (CpuBackend cpu = new CpuBackend(1); Model built = Model.build(cpu, s, shape, 10)) {
            assertEquals(built.parameterCount(), plan.parameters(), model);
            assertArrayEquals(built.outputShape(), plan.outputShape(), model);
            var layers = built.root().allLayers().stream()
                    .filter(l -> !(l instanceof Sequential) && !(l instanceof Residual)).toList();
            assertEquals(layers.size(), plan.leaves().size(), model);
            for (int i = 0; i < layers.size(); i++) {
                assertArrayEquals(layers.get(i).outputShape(), plan.leaves().get(i).outputShape(), model + " layer " + i);
            }
        }
    }

    @Test
    void aDeclaredInputThatIsNotTheDatasSampleShapeIsRefusedWithBoth() {
        SpecException e = refused("{\"input\":[1,28],\"layers\":[{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":10}]}",
                8, new int[] {1, 28, 28}, 10);
        assertEquals("model.input", e.field());
        assertTrue(e.getMessage().contains("[1, 28]") && e.getMessage().contains("[1, 28, 28]"), e.getMessage());
    }

    @Test
    void aLastLayerThatIsNotTheClassCountIsRefusedWithBoth() {
        SpecException e = refused("{\"layers\":[{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":7}]}", 8,
                new int[] {1, 28, 28}, 10);
        assertEquals("model", e.field());
        assertTrue(e.getMessage().contains("7 outputs") && e.getMessage().contains("10 classes"), e.getMessage());
    }

    @Test
    void aPresetOnImagesBelowItsMinimumIsRefusedWithBoth() {
        SpecException e = refused("{\"preset\":\"vgg11\"}", 8, new int[] {1, 28, 28}, 10);
        assertEquals("model.preset", e.field());
        assertTrue(e.getMessage().contains("32x32") && e.getMessage().contains("[1, 28, 28]"), e.getMessage());
    }

    @Test
    void anActivationTooLargeForOneTensorAtTheBatchSizeIsRefusedSayingWhichBatchFits() {
        SpecException e = refused(HUGE_ACTIVATION, 32, new int[] {1, 8, 8}, 10);
        assertEquals("model.layers[0]", e.field());
        assertTrue(e.getMessage().contains("[65536, 136, 136]") && e.getMessage().contains("38,788,923,392")
                && e.getMessage().contains("2,147,483,647") && e.getMessage().contains("at most 1"), e.getMessage());
    }

    @Test
    void weightsTooLargeForOneTensorAreRefusedNamingTheLayer() {
        String wide = "{\"layers\":[{\"type\":\"flatten\"},{\"type\":\"dense\",\"units\":1048576},{\"type\":\"dense\",\"units\":1048576},"
                + "{\"type\":\"dense\",\"units\":10}]}";
        SpecException e = refused(wide, 1, new int[] {1, 8, 8}, 10);
        assertEquals("model.layers[2]", e.field());
        assertTrue(e.getMessage().contains("[1048576, 1048576]") && e.getMessage().contains("1,099,511,627,776"), e.getMessage());
    }

    @Test
    void buildingAModelChecksThePlanBeforeAllocating() {
        try (CpuBackend cpu = new CpuBackend(1)) {
            SpecException e = assertThrows(SpecException.class, () -> Model.build(cpu, spec(HUGE_ACTIVATION, 32), new int[] {1, 8, 8}, 10));
            assertEquals("model.layers[0]", e.field());
        }
    }
}
