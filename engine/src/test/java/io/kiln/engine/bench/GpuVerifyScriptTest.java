package io.kiln.engine.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kiln.cuda.ToolProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bench/gpu-verify.sh's paths that need no GPU: without nvidia-smi, or with one that lists no GPU, it says no
 * NVIDIA GPU was found and exits 3 at once, leaving that in its results; with a GPU but an incomplete bundle it
 * exits 2 naming what is missing. (Its GPU steps run only on a GPU machine; see docs/cuda.md.)
 */
class GpuVerifyScriptTest {
    private static final Path SCRIPT = Path.of(System.getProperty("basedir", "."), "..", "bench", "gpu-verify.sh")
            .toAbsolutePath().normalize();

    private static ToolProcess.Result run(Path dir, Map<String, String> env, String... args)
            throws IOException, InterruptedException {
        List<String> cmd = new java.util.ArrayList<>(List.of("bash", dir.resolve("kiln/gpu-verify.sh").toString()));
        cmd.addAll(List.of(args));
        return ToolProcess.run(cmd, dir, env, 60);
    }

    /** A bundle folder holding only the script. */
    private static Path bundle(Path tmp) throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("bundle/kiln"));
        Files.copy(SCRIPT, dir.resolve("gpu-verify.sh"));
        return dir.getParent();
    }

    private static Path fakeSmi(Path tmp, String output) throws IOException {
        Path smi = tmp.resolve("nvidia-smi");
        Files.writeString(smi, "#!/bin/sh\nprintf '%s' '" + output + "'\n");
        assertTrue(smi.toFile().setExecutable(true));
        return smi;
    }

    /**
     * The Java runtime bench/gpu-bundle.sh packs holds what the service needs to start and answer (gpu-verify's last
     * step trains a job over REST): jdk.zipfs (Micronaut reads its service lists out of the jar), jdk.jfr (Micronaut's
     * HTTP server records flight-recorder events; without it every request failed with NoClassDefFoundError
     * jdk/jfr/Event), java.desktop (the service's beans load the report's image classes), java.sql (the store).
     */
    @Test
    void theBundlesRuntimeHoldsTheModulesTheServiceNeeds() throws IOException {
        String bundleScript = Files.readString(SCRIPT.resolveSibling("gpu-bundle.sh"));
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("jre_modules=\\$\\{KILN_BUNDLE_JRE_MODULES:-([^}]+)}")
                .matcher(bundleScript);
        assertTrue(m.find(), "gpu-bundle.sh sets jre_modules");
        List<String> modules = List.of(m.group(1).split(","));
        for (String needed : List.of("java.base", "java.sql", "java.desktop", "java.management", "jdk.zipfs", "jdk.jfr")) {
            assertTrue(modules.contains(needed), needed + " is missing from the bundle's runtime: " + modules);
        }
    }

    @Test
    void withoutNvidiaSmiItSaysSoAndExits3(@TempDir Path tmp) throws Exception {
        Path b = bundle(tmp);
        ToolProcess.Result r = run(b, Map.of("KILN_NVIDIA_SMI", tmp.resolve("absent/nvidia-smi").toString()),
                tmp.resolve("out").toString());
        assertEquals(3, r.exit(), r.output());
        assertTrue(r.output().contains("no NVIDIA GPU found") && r.output().contains("not installed"), r.output());
        String results = Files.readString(tmp.resolve("out/results.json"));
        assertTrue(results.contains("\"passed\": false") && results.contains("no NVIDIA GPU found"), results);
        assertTrue(Files.readString(tmp.resolve("out/summary.md")).contains("no NVIDIA GPU found"));
    }

    /** Runs the bundle's script with results to {@code tmp/out}, given an nvidia-smi whose listing is {@code smiOutput}. */
    private static ToolProcess.Result runWithSmi(Path tmp, Path bundle, String smiOutput)
            throws IOException, InterruptedException {
        Path smi = fakeSmi(tmp, smiOutput);
        return run(bundle, Map.of("KILN_NVIDIA_SMI", smi.toString()), tmp.resolve("out").toString());
    }

    @Test
    void anNvidiaSmiListingNoGpuIsNoGpu(@TempDir Path tmp) throws Exception {
        ToolProcess.Result r = runWithSmi(tmp, bundle(tmp), "No devices were found\\n");
        assertEquals(3, r.exit(), r.output());
        assertTrue(r.output().contains("lists no GPU"), r.output());
    }

    @Test
    void aGpuWithAnIncompleteBundleIsBadUsage(@TempDir Path tmp) throws Exception {
        Path b = bundle(tmp);
        ToolProcess.Result r = runWithSmi(tmp, b, "GPU 0: NVIDIA H200 (UUID: GPU-0)\\n");
        assertEquals(2, r.exit(), r.output());
        assertTrue(r.output().contains("kiln-service.jar missing"), r.output());
        assertEquals(2, run(b, Map.of()).exit(), "no RESULTS_DIR");
    }
}
