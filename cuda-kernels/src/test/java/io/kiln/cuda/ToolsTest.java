package io.kiln.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The tool runner of the up-to-date tests keeps its timeout even when a tool hangs with its output open. */
class ToolsTest {
    @Test
    void collectsTheOutputAndTheExitStatus() throws IOException {
        Tools.Result r = Tools.run(List.of("sh", "-c", "echo out; echo err >&2; exit 3"), null, Map.of());
        assertEquals(3, r.exit());
        assertEquals("out\nerr\n", r.output());
    }

    @Test
    void aHungToolIsKilledAtItsTimeout() {
        long start = System.nanoTime();
        IOException e = assertThrows(IOException.class,
                () -> Tools.run(List.of("sh", "-c", "echo started; sleep 60"), null, Map.of(), 1));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(e.getMessage().startsWith("timed out after 1 s"), e.getMessage());
        assertTrue(seconds < 30, "returned after " + seconds + " s, not at the 1 s timeout");
    }
}
