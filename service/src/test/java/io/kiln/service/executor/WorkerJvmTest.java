package io.kiln.service.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.module.ModuleFinder;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class WorkerJvmTest {
    @Test
    void theVectorModuleIsAskedForOnlyWhereTheRuntimeHasIt() {
        String module = "--add-modules=" + WorkerJvm.VECTOR_MODULE;
        assertTrue(WorkerJvm.options(true).contains(module));
        // a JVM asked for a module its runtime lacks does not start at all
        assertFalse(WorkerJvm.options(false).contains(module));
        assertEquals(List.of("-XX:+ExitOnOutOfMemoryError", "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-Xmn64m"),
                WorkerJvm.options(false));
        assertEquals(ModuleFinder.ofSystem().find(WorkerJvm.VECTOR_MODULE).isPresent(), WorkerJvm.OPTIONS.contains(module));
    }

    @Test
    void theJvmsIncubatorNoticeIsRecognisedAndNothingElse() {
        assertTrue(WorkerJvm.isModuleNotice("WARNING: Using incubator modules: jdk.incubator.vector"));
        assertFalse(WorkerJvm.isModuleNotice("WARNING: the loss is NaN"));
        assertFalse(WorkerJvm.isModuleNotice("epoch 1: WARNING: Using incubator modules: x"));
    }
}
