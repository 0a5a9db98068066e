package io.kiln.engine.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kiln.engine.checkpoint.Checkpoint;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A checkpoint's head follows the dataset's classes: reordered when only the order differs, else a warning. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ClassOrderTest {
    static final List<String> HEAD = List.of("layers.3.weight", "layers.3.bias");

    /** Classes b, a, c; head row r of the weight holds r*10, r*10+1; the bias r. A hidden layer is there too. */
    static Checkpoint checkpoint(String... classes) {
        ObjectNode info = JsonNodeFactory.instance.objectNode();
        var names = info.putArray("classNames");
        for (String c : classes) {
            names.add(c);
        }
        return new Checkpoint(JsonNodeFactory.instance.objectNode(), 1, 10, 10, info, List.of(
                new Checkpoint.Entry("layers.1.weight", Checkpoint.Kind.PARAM, new int[] {3, 3}, new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}),
                new Checkpoint.Entry("layers.3.weight", Checkpoint.Kind.PARAM, new int[] {3, 2}, new float[] {0, 1, 10, 11, 20, 21}),
                new Checkpoint.Entry("layers.3.bias", Checkpoint.Kind.PARAM, new int[] {3}, new float[] {0, 1, 2})));
    }

    @Test
    void theSameClassesInAnotherOrderReorderTheHeadsRows() {
        ClassOrder.Match m = ClassOrder.match(checkpoint("b", "a", "c"), HEAD, List.of("a", "b", "c"));
        assertArrayEquals(new float[] {10, 11, 0, 1, 20, 21}, m.checkpoint().tensor("layers.3.weight").data());
        assertArrayEquals(new float[] {1, 0, 2}, m.checkpoint().tensor("layers.3.bias").data());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, m.checkpoint().tensor("layers.1.weight").data(),
                "only the head is reordered");
        assertTrue(m.note().contains("another order") && m.note().contains("[b, a, c]"), m.note());
    }

    @Test
    void otherClassesKeepTheHeadAndWarn() {
        Checkpoint c = checkpoint("cat", "dog", "bird");
        ClassOrder.Match m = ClassOrder.match(c, HEAD, List.of("a", "b", "c"));
        assertSame(c, m.checkpoint());
        assertTrue(m.note().startsWith("warning: the checkpoint's classes [cat, dog, bird] are not the dataset's [a, b, c]"), m.note());
    }

    @Test
    void theSameClassesInTheSameOrderSayNothing() {
        Checkpoint c = checkpoint("a", "b", "c");
        ClassOrder.Match m = ClassOrder.match(c, HEAD, List.of("a", "b", "c"));
        assertSame(c, m.checkpoint());
        assertNull(m.note());
    }
}
