package io.kiln.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The committed PTX must be the one built from the committed CUDA sources. */
class PtxUpToDateTest {
    private static final String FIX = "; rebuild it with cuda-kernels/build-ptx.sh (needs nvcc) and commit the result";

    static Path sources() {
        return Tools.moduleDir().resolve("src/main/cuda");
    }

    static String committedPtx() throws IOException {
        return Files.readString(Tools.moduleDir().resolve("src/main/resources" + CudaResources.PTX), StandardCharsets.UTF_8);
    }

    static String sourceHash() throws IOException {
        List<String> names;
        try (Stream<Path> files = Files.list(sources())) {
            names = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cu") || n.endsWith(".cuh"))
                    .sorted().toList();
        }
        return Tools.listingHash(sources(), names);
    }

    @Test
    void ptxRecordsTheHashOfTheCurrentSources() throws IOException {
        String ptx = committedPtx();
        String first = ptx.lines().findFirst().orElse("");
        assertTrue(first.startsWith(CudaResources.PTX_HASH_PREFIX), "kernels.ptx lacks its source-hash line" + FIX);
        assertEquals(sourceHash(), first.substring(CudaResources.PTX_HASH_PREFIX.length()).trim(),
                "kernels.ptx was built from other sources than src/main/cuda" + FIX);
    }

    @Test
    void classPathPtxIsTheCommittedOne() throws IOException {
        assertEquals(committedPtx(), new String(CudaResources.ptx(), StandardCharsets.UTF_8));
    }

    @Test
    void everyKernelIsAnEntryOfThePtx() throws IOException {
        String cu = Files.readString(sources().resolve("kernels.cu"));
        String ptx = committedPtx();
        Matcher m = Pattern.compile("extern \"C\" __global__ void (\\w+)\\(").matcher(cu);
        int count = 0;
        while (m.find()) {
            count++;
            assertTrue(ptx.contains(".entry " + m.group(1) + "("), "PTX lacks kernel " + m.group(1) + FIX);
        }
        assertTrue(count >= 15, "expected the kernels of kernels.cu, found " + count);
        assertTrue(ptx.contains(".target sm_75"), "the PTX is meant for compute_75 (the oldest nvcc 13 allows)");
    }

    /** With nvcc (the same release that built the committed PTX), a rebuild gives the same text. */
    @Test
    void rebuildWithNvccGivesTheCommittedPtx(@TempDir Path tmp) throws IOException {
        assumeTrue(Tools.has("nvcc"), "nvcc not found: the rebuild comparison is skipped");
        String version = Tools.run(List.of("nvcc", "--version"), null, Map.of()).output();
        String header = committedPtx().lines().skip(1).findFirst().orElse("");
        Matcher m = Pattern.compile("release [0-9.]+, V[0-9.]+").matcher(version);
        assumeTrue(m.find() && header.contains(m.group()), "another nvcc release built the committed PTX");
        Path out = tmp.resolve("kernels.ptx");
        ToolProcess.Result r = Tools.run(List.of("bash", Tools.moduleDir().resolve("build-ptx.sh").toString(), "-o", out.toString()),
                null, Map.of());
        assertEquals(0, r.exit(), r.output());
        assertEquals(committedPtx(), Files.readString(out), "kernels.ptx differs from a fresh build" + FIX);
    }

    /**
     * The backend retries a PTX the driver rejects with its ISA version lowered to 6.3 (CUDA 10.0 and newer
     * drivers accept it); with ptxas at hand, check that the kernels assemble at that version.
     */
    @Test
    void ptxAssemblesAtIsa63(@TempDir Path tmp) throws IOException {
        assumeTrue(Tools.has("ptxas"), "ptxas not found: the ISA 6.3 check is skipped");
        String ptx = committedPtx().replaceFirst("(?m)^\\.version \\d+\\.\\d+$", ".version 6.3");
        Path file = tmp.resolve("k63.ptx");
        Files.writeString(file, ptx);
        ToolProcess.Result r = Tools.run(List.of("ptxas", "-arch=sm_75", file.toString(), "-o", tmp.resolve("k.cubin").toString()),
                null, Map.of());
        assertEquals(0, r.exit(), r.output());
    }

    /**
     * The GPUs Kiln is run on (Turing sm_75, Ampere sm_80, Hopper sm_90): with nvcc at hand, the kernels compile
     * to machine code for each with every warning an error, in nvcc and in ptxas (which also reports spills and
     * stack use as warnings under -Werror), with the flags of build-ptx.sh.
     */
    @Test
    void kernelsCompileWithoutWarningsForEachTargetArchitecture(@TempDir Path tmp) throws IOException {
        assumeTrue(Tools.has("nvcc"), "nvcc not found: the per-architecture compile check is skipped");
        for (String arch : List.of("sm_75", "sm_80", "sm_90")) {
            ToolProcess.Result r = Tools.run(List.of("nvcc", "-cubin", "-arch=" + arch, "-fmad=false", "-O3", "-std=c++17",
                    "-I" + sources(), "-Werror", "all-warnings", "-Xptxas", "-Werror,-warn-spills,-warn-lmem-usage",
                    "-o", tmp.resolve(arch + ".cubin").toString(), sources().resolve("kernels.cu").toString()), null, Map.of());
            assertEquals(0, r.exit(), arch + ": " + r.output());
            assertTrue(r.output().isBlank(), arch + " compiled with output (warnings?): " + r.output());
        }
    }
}
