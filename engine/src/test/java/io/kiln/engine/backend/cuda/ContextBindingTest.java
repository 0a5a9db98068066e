package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.List;
import jcuda.driver.CUcontext;
import org.junit.jupiter.api.Test;

/** Two backends on two GPUs used from one thread: each operation must run in its own backend's context. */
class ContextBindingTest {
    @Test
    void everyOperationMakesItsOwnContextCurrentEvenOnTheSameThread() {
        List<CUcontext> current = new ArrayList<>();
        CudaDevices.Gpu gpu = new CudaDevices.Gpu(0, "test", 1L << 30, -1, 9, 0, 132);
        CudaContext a = new CudaContext(0, gpu, new CudaChecks("cuda:0"), c -> {
            current.add(c);
            return 0;
        });
        CudaContext b = new CudaContext(1, gpu, new CudaChecks("cuda:1"), c -> {
            current.add(c);
            return 0;
        });
        a.bind("cuda:0");
        b.bind("cuda:1");
        a.bind("cuda:0");
        a.bind("cuda:0");
        b.bind("cuda:1");
        assertEquals(5, current.size(), "one cuCtxSetCurrent per operation");
        CUcontext ca = current.get(0), cb = current.get(1);
        assertNotSame(ca, cb);
        // by identity: two unopened CUcontexts are equal() (both null pointers)
        CUcontext[] want = {ca, cb, ca, ca, cb};
        for (int i = 0; i < want.length; i++) {
            assertSame(want[i], current.get(i), "operation " + i);
        }
    }
}
