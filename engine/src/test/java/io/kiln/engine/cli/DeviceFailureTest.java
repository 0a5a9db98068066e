package io.kiln.engine.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.kiln.engine.backend.Backend;
import io.kiln.engine.backend.InterceptedBackend;
import io.kiln.engine.backend.cpu.CpuBackend;
import io.kiln.engine.backend.cuda.CudaException;
import io.kiln.engine.checkpoint.Checkpoint;
import io.kiln.engine.train.TinyData;
import io.kiln.engine.train.Trainer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * train's exit codes for a device that fails in the middle of training, without a GPU: the CPU backend
 * stands in for the device and throws CUDA's error at a matrix product of the second epoch. A fatal error
 * (the CUDA context is lost) exits 4, so that the service can mark the GPU suspect; another device error
 * exits 1. Either way the error event carries the device's message and the first epoch's checkpoint stays.
 */
class DeviceFailureTest {
    static final String MESSAGE = "cuLaunchKernel kiln_add_bias [1024 blocks of 256] on cuda:0 (stand-in) failed: "
            + "CUDA_ERROR_ILLEGAL_ADDRESS: an illegal memory access was encountered";

    @TempDir
    static Path root;

    @BeforeAll
    static void data() throws IOException {
        TinyData.write(root, "tiny", 600, 200, 4, 8, 1);
    }

    /** The CPU backend until the tenth matrix product after the first checkpoint is written, which fails. */
    static Backend failing(Path checkpoint, boolean fatal) {
        int[] afterCheckpoint = new int[1];
        return InterceptedBackend.of(new CpuBackend(2), call -> {
            if (call.op().equals("gemm") && Files.exists(checkpoint) && ++afterCheckpoint[0] == 10) {
                throw new CudaException(MESSAGE, "cuda", 700, fatal);
            }
            return call.proceed();
        });
    }

    record Run(int exit, List<JsonNode> events) {
        List<JsonNode> of(String type) {
            return events.stream().filter(e -> e.path("event").asText().equals(type)).toList();
        }
    }

    static Run train(Path tmp, boolean fatal) throws IOException {
        Path spec = EngineMainTest.write(tmp, "s.json", EngineMainTest.spec(EngineMainTest.MLP, "").replace("EPOCHS", "2"));
        Path out = tmp.resolve("out");
        Backend backend = failing(out.resolve(Trainer.CHECKPOINT_FILE), fatal);
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int exit;
        try (PrintStream capture = new PrintStream(buf, true, StandardCharsets.UTF_8)) {
            System.setOut(capture);
            exit = new CommandLine(new TrainCommand((device, precision) -> backend)).execute("--spec", spec.toString(),
                    "--data-root", root.toString(), "--out", out.toString());
        } finally {
            System.setOut(old);
        }
        List<JsonNode> events = new ArrayList<>();
        for (String line : buf.toString(StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) {
                events.add(EngineMainTest.JSON.readTree(line));
            }
        }
        return new Run(exit, events);
    }

    static void failedInTheSecondEpoch(Run r, Path tmp) throws IOException {
        assertEquals(1, r.of("epoch").size(), r.events().toString());
        assertEquals(List.of(), r.of("done"));
        JsonNode last = r.events().get(r.events().size() - 1);
        assertEquals("error", last.get("event").asText());
        assertEquals(MESSAGE, last.get("message").asText());
        assertEquals(1, Checkpoint.read(tmp.resolve("out").resolve(Trainer.CHECKPOINT_FILE)).epoch(),
                "the checkpoint of the finished epoch is kept");
    }

    @Test
    void aFatalDeviceErrorExitsFour(@TempDir Path tmp) throws IOException {
        Run r = train(tmp, true);
        assertEquals(TrainCommand.EXIT_DEVICE_FATAL, r.exit());
        assertEquals(4, r.exit());
        failedInTheSecondEpoch(r, tmp);
    }

    @Test
    void aDeviceErrorThatLeavesTheContextUsableExitsOne(@TempDir Path tmp) throws IOException {
        Run r = train(tmp, false);
        assertEquals(1, r.exit());
        failedInTheSecondEpoch(r, tmp);
    }
}
