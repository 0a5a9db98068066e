package io.kiln.engine.backend.cpu;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.TestInstance;

/**
 * The two CPU backends a kernel test runs on: serial, and on two threads, so that the parallel split is
 * exercised and must give the serial result. One pair per test class, closed after its last test.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class SerialAndParallelBackends {
    final CpuBackend serial = new CpuBackend(1);
    final CpuBackend parallel = new CpuBackend(2);
    final CpuBackend[] both = {serial, parallel};

    @AfterAll
    void closeBackends() {
        serial.close();
        parallel.close();
    }
}
