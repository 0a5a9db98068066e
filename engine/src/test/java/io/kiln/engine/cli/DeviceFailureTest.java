package io.kiln.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.InterceptedBackend;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.backend.cuda.CudaException;
import io.kiln.engine.backend.cuda.CudaOutOfMemoryException;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.train.TinyData;
import io.kiln.engine.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * train's exit codes for a device that fails in the middle of training, without a GPU: the CPU backend
 * stands in for the device and throws CUDA's error at a matrix product of the second epoch. A fatal error
 * (the CUDA context is lost) exits 4, so that the service can mark the GPU suspect; another device error
 * exits 1; running out of device memory exits 3, saying so. Either way the error event carries the device's
 * message and the first epoch's checkpoint stays.
 */
class DeviceFailureTest {
    static final String MESSAGE = "cublasSgemm on cuda:0 (a stand-in) failed: CUDA_ERROR_ILLEGAL_ADDRESS: an illegal "
            + "memory access was encountered";

    /** The CPU backend until the tenth matrix product after the first checkpoint is written, which fails. */
    static Backend failing(Path checkpoint, CudaException failure) {
        int[] afterCheckpoint = new int[1];
        return InterceptedBackend.of(new CpuBackend(2), call -> {
            if (call.op().equals("gemm") && Files.exists(checkpoint) && ++afterCheckpoint[0] == 10) {
                throw failure;
            }
            return call.proceed();
        });
    }

    static EngineMainTest.Run train(Path tmp, boolean fatal) throws IOException {
        return train(tmp, new CudaException(MESSAGE, "cuda", 700, fatal));
    }

    static EngineMainTest.Run train(Path tmp, CudaException failure) throws IOException {
        Path data = TinyData.write(tmp.resolve("data"), "tiny", 600, 200, 4, 8, 1).getParent();
        Path spec = EngineMainTest.write(tmp, "s.json", EngineMainTest.spec(EngineMainTest.MLP, "").replace("EPOCHS", "2"));
        Path out = tmp.resolve("out");
        Backend backend = failing(out.resolve(Trainer.CHECKPOINT_FILE), failure);
        return EngineMainTest.capture(() -> new CommandLine(new TrainCommand((device, precision) -> backend)).execute(
                "--spec", spec.toString(), "--data-root", data.toString(), "--out", out.toString()));
    }

    static void failedInTheSecondEpoch(EngineMainTest.Run r, Path tmp) throws IOException {
        assertEquals(1, r.of("epoch").size(), r.events().toString());
        assertEquals(List.of(), r.of("done"));
        JsonNode last = r.last();
        assertEquals("error", last.get("event").asText());
        assertEquals(MESSAGE, last.get("message").asText());
        assertEquals(1, Checkpoint.read(tmp.resolve("out").resolve(Trainer.CHECKPOINT_FILE)).epoch(),
                "the checkpoint of the finished epoch is kept");
    }

    @Test
    void aFatalDeviceErrorExitsFour(@TempDir Path tmp) throws IOException {
        EngineMainTest.Run r = train(tmp, true);
        assertEquals(TrainCommand.EXIT_DEVICE_FATAL, r.exit());
        assertEquals(4, r.exit());
        failedInTheSecondEpoch(r, tmp);
    }

    @Test
    void aDeviceErrorThatLeavesTheContextUsableExitsOne(@TempDir Path tmp) throws IOException {
        EngineMainTest.Run r = train(tmp, false);
        assertEquals(1, r.exit());
        failedInTheSecondEpoch(r, tmp);
    }

    @Test
    void runningOutOfDeviceMemoryExitsThreeSayingSo(@TempDir Path tmp) throws IOException {
        String oom = "cudaMalloc of 2.0 GiB on cuda:0 (a stand-in) failed: 1.1 GiB free";
        EngineMainTest.Run r = train(tmp, new CudaOutOfMemoryException(oom, 2L << 30, 1L << 30));
        assertEquals(TrainCommand.EXIT_OUT_OF_MEMORY, r.exit());
        assertEquals(3, r.exit(), "the code of the Java heap's out of memory too");
        assertEquals("GPU out of memory: " + oom, r.last().get("message").asText(), "the service tells GPU from heap by it");
    }
}
