package io.kiln.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A helper program's timeout holds even while the program keeps its output open. */
class ToolProcessTest {
    @Test
    void collectsTheOutputAndTheExitStatus() throws Exception {
        ToolProcess.Result r = ToolProcess.run(List.of("sh", "-c", "echo out $KILN_PROBE; echo err >&2; exit 3"), null,
                Map.of("KILN_PROBE", "probe"), 30);
        assertEquals(3, r.exit());
        assertEquals("out probe\nerr\n", r.output());
    }

    @Test
    void aHungProgramIsKilledAtItsTimeout() {
        long start = System.nanoTime();
        IOException e = assertThrows(IOException.class,
                () -> ToolProcess.run(List.of("sh", "-c", "echo started; sleep 60"), null, 1));
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(e.getMessage().startsWith("timed out after 1 s"), e.getMessage());
        assertTrue(seconds < 30, "returned after " + seconds + " s, not at the 1 s timeout");
    }
}
