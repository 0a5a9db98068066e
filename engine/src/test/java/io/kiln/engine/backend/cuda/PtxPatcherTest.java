package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.cuda.CudaResources;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class PtxPatcherTest {
    private static final String PTX = new String(CudaResources.ptx(), StandardCharsets.UTF_8);

    @Test
    void builtInPtxTargetsSm75() {
        assertEquals(75, PtxPatcher.target(PTX));
    }

    @Test
    void lowersIsaAndTargetForAPascalGpu() {
        String p = PtxPatcher.lower(PTX, 6, 1);
        assertTrue(p.contains("\n.version 6.3\n"), "ISA lowered");
        assertTrue(p.contains("\n.target sm_61\n"), "target lowered");
        assertEquals(61, PtxPatcher.target(p));
        assertEquals(PTX.length() - ".version 9.0.target sm_75".length() + ".version 6.3.target sm_61".length(), p.length());
    }

    @Test
    void keepsTheTargetForNewerGpus() {
        String p = PtxPatcher.lower(PTX, 9, 0);
        assertTrue(p.contains("\n.version 6.3\n"));
        assertEquals(75, PtxPatcher.target(p));
    }
}
