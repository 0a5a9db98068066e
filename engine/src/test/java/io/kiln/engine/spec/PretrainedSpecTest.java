package io.kiln.engine.spec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.engine.backend.PoolMode;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The spec parts of transfer learning: data.transform, normalize imagenet, init.freeze by name, the ImageNet ResNets. */
class PretrainedSpecTest {

    static JobSpec parse(String data, String extra) {
        return SpecParser.parse("{\"data\":{\"name\":\"d\"" + data + "},\"model\":{\"preset\":\"resnet18\"},"
                + "\"optimizer\":{\"lr\":0.1}" + extra + "}");
    }

    @Test
    void readsTheTutorialsTransforms() {
        JobSpec spec = parse(",\"normalize\":\"imagenet\",\"transform\":{\"randomResizedCrop\":224,\"flip\":true,"
                + "\"resize\":256,\"centerCrop\":224}", "");
        JobSpec.Transform t = spec.data().transform();
        assertEquals(224, t.randomResizedCrop());
        assertEquals(256, t.resize());
        assertEquals(224, t.centerCrop());
        assertTrue(t.flip());
        assertArrayEquals(new double[] {0.08, 1.0}, t.scale());
        assertEquals("imagenet", spec.data().normalize());
        JobSpec.Transform custom = parse(",\"transform\":{\"randomResizedCrop\":{\"size\":64,\"scale\":[0.5,1],"
                + "\"ratio\":[0.9,1.1]},\"centerCrop\":64}", "").data().transform();
        assertArrayEquals(new double[] {0.5, 1.0}, custom.scale());
        assertArrayEquals(new double[] {0.9, 1.1}, custom.ratio());
        assertEquals(64, custom.resize(), "resize defaults to the crop");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "no centre crop | {\"resize\":256} | data.transform.centerCrop | is required",
            "crops differ | {\"randomResizedCrop\":200,\"centerCrop\":224} | data.transform.randomResizedCrop | must equal centerCrop",
            "resize too small | {\"resize\":100,\"centerCrop\":224} | data.transform.resize | must be at least centerCrop",
            "bad scale | {\"randomResizedCrop\":{\"size\":8,\"scale\":[0.5,2]},\"centerCrop\":8} | data.transform.randomResizedCrop.scale | 0 < min <= max <= 1",
            "bad ratio | {\"randomResizedCrop\":{\"size\":8,\"ratio\":[2]},\"centerCrop\":8} | data.transform.randomResizedCrop.ratio | [min, max]",
            "no size | {\"randomResizedCrop\":{\"scale\":[0.5,1]},\"centerCrop\":8} | data.transform.randomResizedCrop.size | is required",
            "crop not a number | {\"randomResizedCrop\":\"big\",\"centerCrop\":8} | data.transform.randomResizedCrop | must be an integer",
            "huge crop | {\"centerCrop\":100000} | data.transform.centerCrop | between 1 and 4096",
            "flip not boolean | {\"flip\":1,\"centerCrop\":8} | data.transform.flip | true or false",
            "typo | {\"centreCrop\":8,\"centerCrop\":8} | data.transform.centreCrop | unknown field"})
    void transformMistakesNameTheField(String rule, String transform, String field, String message) {
        SpecException e = assertThrows(SpecException.class, () -> parse(",\"transform\":" + transform, ""));
        assertEquals(field, e.field(), rule);
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void augmentAndTransformDoNotMix() {
        SpecException e = assertThrows(SpecException.class, () -> parse(",\"augment\":{\"flip\":true},"
                + "\"transform\":{\"centerCrop\":8}", ""));
        assertEquals("data.augment", e.field());
        SpecException mean = assertThrows(SpecException.class, () -> parse(",\"normalize\":\"imagenet\",\"mean\":[0.5],"
                + "\"std\":[0.2]", ""));
        assertEquals("data.mean", mean.field());
    }

    @Test
    void freezeTakesIndicesNamesOrAllButLast() {
        JobSpec.Freeze all = parse("", ",\"init\":{\"checkpoint\":\"c\",\"freeze\":\"all-but-last\"}").init().freeze();
        assertTrue(all.allButLast());
        JobSpec.Freeze mixed = parse("", ",\"init\":{\"checkpoint\":\"c\",\"freeze\":[0,\"layer1\",\"layers.4\"]}")
                .init().freeze();
        assertEquals(List.of(0, "layer1", "layers.4"), mixed.entries());
        assertTrue(!parse("", ",\"init\":{\"checkpoint\":\"c\"}").init().freeze().any());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "another word | \"everything\" | init.freeze",
            "a fraction | [1.5] | init.freeze[0]",
            "a negative index | [\"fc\",-1] | init.freeze[1]",
            "an empty name | [\"\"] | init.freeze[0]",
            "all-but-last in a list | [\"all-but-last\"] | init.freeze[0]",
            "an object | {\"fc\":true} | init.freeze"})
    void freezeMistakesNameTheField(String rule, String freeze, String field) {
        SpecException e = assertThrows(SpecException.class,
                () -> parse("", ",\"init\":{\"checkpoint\":\"c\",\"freeze\":" + freeze + "}"));
        assertEquals(field, e.field(), rule + ": " + e.getMessage());
    }

    @Test
    void theTutorialExamplesParse() throws java.io.IOException {
        java.nio.file.Path examples = java.nio.file.Path.of(System.getProperty("kiln.repo.root", "..")).resolve("examples");
        JobSpec freeze = SpecParser.parse(java.nio.file.Files.readString(examples.resolve("ants-bees-freeze.json")));
        assertTrue(freeze.init().freeze().allButLast());
        assertEquals(224, freeze.data().transform().randomResizedCrop());
        JobSpec all = SpecParser.parse(java.nio.file.Files.readString(examples.resolve("ants-bees-finetune.json")));
        assertTrue(!all.init().freeze().any());
        assertEquals("resnet18", all.model().preset());
    }

    @Test
    void resnet18HasTheImageNetLayout() {
        List<LayerSpec> l = Presets.expand("resnet18", SpecParser.JSON.createObjectNode(), new int[] {3, 224, 224}, 1000);
        assertEquals(new LayerSpec.Conv2d(64, 7, 2, 3, false, LayerSpec.Init.HE), l.get(0));
        assertEquals(new LayerSpec.Pool2d(PoolMode.MAX, 3, 2, 1), l.get(3));
        assertEquals(8, l.stream().filter(s -> s instanceof LayerSpec.Residual).count(), "four stages of two blocks");
        assertEquals(3, l.stream().filter(s -> s instanceof LayerSpec.Residual r && !r.shortcut().isEmpty()).count(),
                "downsample projections in stages 2 to 4");
        assertEquals(new LayerSpec.Pool2d(PoolMode.AVERAGE, 7, 7, 0), l.get(l.size() - 3), "global average pool of 7x7");
        assertEquals(new LayerSpec.Dense(1000, true, LayerSpec.Init.XAVIER), l.get(l.size() - 1));
        assertEquals(16, Presets.expand("resnet34", SpecParser.JSON.createObjectNode(), new int[] {3, 224, 224}, 10)
                .stream().filter(s -> s instanceof LayerSpec.Residual).count(), "3 + 4 + 6 + 3 blocks");
        SpecException e = assertThrows(SpecException.class,
                () -> Presets.expand("resnet18", SpecParser.JSON.createObjectNode(), new int[] {3, 224, 160}, 10));
        assertTrue(e.getMessage().contains("needs square images"), e.getMessage());
        SpecException width = assertThrows(SpecException.class, () -> SpecParser.parse(
                "{\"data\":{\"name\":\"d\"},\"model\":{\"preset\":\"resnet18\",\"width\":0},\"optimizer\":{\"lr\":0.1}}"));
        assertEquals("model.width", width.field());
    }
}
