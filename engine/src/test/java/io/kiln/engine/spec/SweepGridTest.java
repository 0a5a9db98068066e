package io.kiln.engine.spec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

class SweepGridTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static JsonNode json(String s) {
        try {
            return JSON.readTree(s);
        } catch (Exception e) {
            throw new IllegalArgumentException(s, e);
        }
    }

    static final JsonNode BASE = json(SpecParserTest.CONTRACT_EXAMPLE);

    @Test
    void cartesianProductInGridOrder() {
        List<SweepGrid.Point> points = SweepGrid.expand(BASE,
                json("{\"model.layers[1].units\":[10,30],\"optimizer.lr\":[0.1,0.01,0.001]}"));
        assertEquals(6, points.size());
        assertEquals(10, points.get(0).values().get("model.layers[1].units").asInt());
        assertEquals(0.1, points.get(0).values().get("optimizer.lr").asDouble());
        assertEquals(0.01, points.get(1).values().get("optimizer.lr").asDouble());
        assertEquals(30, points.get(5).values().get("model.layers[1].units").asInt());
        LayerSpec.Dense dense = (LayerSpec.Dense) points.get(5).spec().model().layers().get(1);
        assertEquals(30, dense.units());
        assertEquals(0.001, points.get(5).spec().optimizer().lr());
        assertEquals("fashion-mlp[units=30,lr=0.001]", points.get(5).spec().name());
        assertEquals(0.9, points.get(5).spec().optimizer().momentum(), "the rest of the base is kept");
    }

    @Test
    void aLeafMissingFromTheBaseMayBeSet() {
        List<SweepGrid.Point> points = SweepGrid.expand(BASE, json("{\"optimizer.nesterov\":[false,true]}"));
        assertTrue(points.get(1).spec().optimizer().nesterov());
    }

    @Test
    void badPathsAndValuesNameTheGridField() {
        assertEquals("grid.model.layers[9].units", assertThrows(SpecException.class,
                () -> SweepGrid.expand(BASE, json("{\"model.layers[9].units\":[1]}"))).field());
        assertEquals("grid.optimizer.lr", assertThrows(SpecException.class,
                () -> SweepGrid.expand(BASE, json("{\"optimizer.lr\":[]}"))).field());
        assertEquals("grid.trainer.epochs", assertThrows(SpecException.class,
                () -> SweepGrid.expand(BASE, json("{\"trainer.epochs\":[1]}"))).field());
        assertEquals("grid", assertThrows(SpecException.class, () -> SweepGrid.expand(BASE, json("{}"))).field());
    }

    @Test
    void aPointThatBreaksASpecRuleIsNamed() {
        SpecException e = assertThrows(SpecException.class,
                () -> SweepGrid.expand(BASE, json("{\"model.layers[1].units\":[10,0]}")));
        assertEquals("model.layers[1].units", e.field());
        assertTrue(e.getMessage().contains("grid point 2 (units=0)"), e.getMessage());
    }

    @Test
    void tooManyPoints() {
        SpecException e = assertThrows(SpecException.class, () -> SweepGrid.expand(BASE,
                json("{\"optimizer.lr\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15],"
                        + "\"model.layers[1].units\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]}")));
        assertTrue(e.getMessage().contains("more than 200 points"), e.getMessage());
    }

    @Test
    void anIndexOfMoreThanSixDigitsOrAPathTooLongIsRefusedNotOverflowed() {
        SpecException big = assertThrows(SpecException.class, () -> SweepGrid.expand(BASE,
                json("{\"model.layers[99999999999].units\":[10]}")));
        assertEquals("grid.model.layers[99999999999].units", big.field());
        assertTrue(big.getMessage().contains("at most 6 digits"), big.getMessage());
        String longPath = "optimizer." + "x".repeat(SweepGrid.MAX_PATH_LENGTH);
        SpecException tooLong = assertThrows(SpecException.class, () -> SweepGrid.expand(BASE,
                json("{\"" + longPath + "\":[1]}")));
        assertEquals("grid", tooLong.field());
        assertTrue(tooLong.getMessage().contains((SweepGrid.MAX_PATH_LENGTH + 10) + " characters long"), tooLong.getMessage());
    }
}
