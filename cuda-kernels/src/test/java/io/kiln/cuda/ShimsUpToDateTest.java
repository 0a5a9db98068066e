package io.kiln.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The committed shims must be built from the committed sources and export what JCuda's natives need. */
class ShimsUpToDateTest {
    private static final String FIX = "; rebuild them with cuda-kernels/build-shims.sh (needs gcc) and commit the result";
    /** The natives whose undefined symbols each shim must define. */
    private static final Map<String, List<String>> NATIVES = Map.of(
            "libcublas.so.11", List.of("libJCublas2-11.7.0-linux-x86_64.so", "libJCublas-11.7.0-linux-x86_64.so"),
            "libcudnn.so.8", List.of("libJCudnn-11.7.0-linux-x86_64.so"));

    private static Path shimsSrc() {
        return Tools.moduleDir().resolve("src/main/shims");
    }

    private static Path shim(String soname) {
        return Tools.moduleDir().resolve("src/main/resources" + CudaResources.SHIM_DIR + soname);
    }

    private static Set<String> symbolList(String soname) throws IOException {
        return new TreeSet<>(Files.readAllLines(shimsSrc().resolve(soname + ".syms")));
    }

    @Test
    void shimsRecordTheHashOfTheCurrentSources() throws IOException {
        String hash = Tools.listingHash(Tools.moduleDir(), List.of("build-shims.sh", "src/main/shims/kiln_shim.c",
                "src/main/shims/libcublas.so.11.syms", "src/main/shims/libcudnn.so.8.syms"));
        Properties info = CudaResources.shimInfo();
        assertEquals(hash, info.getProperty("sources-sha256"), "the shims were built from other sources" + FIX);
        for (String soname : CudaResources.SHIM_SONAMES) {
            assertEquals(String.valueOf(symbolList(soname).size()), info.getProperty(soname + ".symbols"), soname);
            assertTrue(CudaResources.shim(soname).length > 1000, soname + " is missing from the resources");
        }
    }

    /** The symbol lists are the undefined symbols of JCuda's natives that carry the old version node. */
    @Test
    void symbolListsMatchTheJCudaNatives(@TempDir Path tmp) throws IOException {
        assumeTrue(Tools.has("readelf"), "readelf not found: the symbol-list check is skipped");
        for (String soname : CudaResources.SHIM_SONAMES) {
            Set<String> needed = new TreeSet<>();
            for (String lib : NATIVES.get(soname)) {
                Path file = tmp.resolve(lib);
                try (InputStream in = getClass().getResourceAsStream("/lib/" + lib)) {
                    assertTrue(in != null, lib + " is not on the test class path (jcublas/jcudnn natives)");
                    Files.copy(in, file);
                }
                for (String[] sym : dynSyms(file)) {
                    if (sym[1].equals("UND") && sym[0].endsWith("@" + soname)) {
                        needed.add(sym[0].substring(0, sym[0].indexOf('@')));
                    }
                }
            }
            assertEquals(needed, symbolList(soname), soname + ".syms does not match the natives" + FIX);
        }
    }

    /** Every listed symbol is exported in the old version node; glibc needs stay at GLIBC_2.2.5. */
    @Test
    void shimsExportTheOldVersionNodeAndNeedOnlyOldGlibc() throws IOException {
        assumeTrue(Tools.has("readelf"), "readelf not found: the ELF checks are skipped");
        for (String soname : CudaResources.SHIM_SONAMES) {
            Path file = shim(soname);
            Set<String> exported = new TreeSet<>();
            for (String[] sym : dynSyms(file)) {
                if (!sym[1].equals("UND") && sym[0].contains("@@")) {
                    assertTrue(sym[0].endsWith("@@" + soname), "symbol " + sym[0] + " of " + soname);
                    exported.add(sym[0].substring(0, sym[0].indexOf('@')));
                }
            }
            Set<String> expected = new TreeSet<>(symbolList(soname));
            expected.add("kiln_shim_target");
            assertEquals(expected, exported, soname + " exports" + FIX);

            String dyn = Tools.run(List.of("readelf", "-d", "-W", file.toString()), null, Map.of()).output();
            assertTrue(dyn.contains("Library soname: [" + soname + "]"), dyn);
            assertTrue(dyn.contains("Shared library: [libdl.so.2]"), "libdl.so.2 must be NEEDED (glibc < 2.34)");

            String versions = Tools.run(List.of("readelf", "-V", "-W", file.toString()), null, Map.of()).output();
            Matcher m = Pattern.compile("Name: (GLIBC_[0-9.]+)").matcher(versions);
            List<String> glibc = new ArrayList<>();
            while (m.find()) {
                glibc.add(m.group(1));
            }
            assertEquals(List.of("GLIBC_2.2.5"), glibc.stream().distinct().toList(),
                    soname + " needs newer glibc symbols than GLIBC_2.2.5 (Ubuntu 20.04 has 2.31)");
        }
    }

    /**
     * Builds a fake "new" library (libcudnn.so.9 with cudnnGetVersion) and a consumer linked like JCudnn's
     * native (needing cudnnGetVersion@libcudnn.so.8), loads the shim, then the consumer, and checks that
     * the call arrives in the new library, and that a symbol the new library lacks aborts with its name.
     */
    @Test
    void shimForwardsToTheNewLibraryAndAbortsOnMissingSymbols(@TempDir Path tmp) throws IOException {
        assumeTrue(Tools.has("gcc") && Tools.has("readelf"), "gcc or readelf not found: the forwarding check is skipped");
        Path fakeDir = Files.createDirectories(tmp.resolve("fake"));
        Files.writeString(tmp.resolve("fake.c"), "size_t cudnnGetVersion(void) { return 91400; }\n"
                .replace("size_t", "unsigned long"));
        Files.writeString(tmp.resolve("fake.map"), "libcudnn.so.9 { global: cudnnGetVersion; local: *; };\n");
        gcc(tmp, "-shared", "-fPIC", "-o", fakeDir.resolve("libcudnn.so.9").toString(), "fake.c",
                "-Wl,-soname,libcudnn.so.9", "-Wl,--version-script=fake.map");
        Path shimDir = Files.createDirectories(tmp.resolve("shim"));
        Files.copy(shim("libcudnn.so.8"), shimDir.resolve("libcudnn.so.8"));
        Files.writeString(tmp.resolve("consumer.c"), """
                extern unsigned long cudnnGetVersion(void);
                extern int cudnnRNNForwardTraining(void);
                unsigned long consumer_version(void) { return cudnnGetVersion(); }
                int consumer_missing(void) { return cudnnRNNForwardTraining(); }
                """);
        gcc(tmp, "-shared", "-fPIC", "-o", "libconsumer.so", "consumer.c", "-L" + shimDir, "-l:libcudnn.so.8");
        String needs = Tools.run(List.of("readelf", "--dyn-syms", "-W", tmp.resolve("libconsumer.so").toString()), null,
                Map.of()).output();
        assumeTrue(needs.contains("cudnnGetVersion@libcudnn.so.8"), "consumer not linked against the version node");
        Files.writeString(tmp.resolve("driver.c"), """
                #include <dlfcn.h>
                #include <stdio.h>
                #include <string.h>
                int main(int argc, char **argv) {
                    if (!dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL)) { printf("shim: %s\\n", dlerror()); return 2; }
                    void *c = dlopen(argv[2], RTLD_NOW);
                    if (!c) { printf("consumer: %s\\n", dlerror()); return 3; }
                    if (strcmp(argv[3], "missing") == 0) {
                        int (*f)(void) = (int (*)(void)) dlsym(c, "consumer_missing");
                        f();
                        return 4;
                    }
                    unsigned long (*v)(void) = (unsigned long (*)(void)) dlsym(c, "consumer_version");
                    const char *(*t)(void) = (const char *(*)(void)) dlsym(dlopen(argv[1], RTLD_NOW), "kiln_shim_target");
                    printf("version=%lu target=%s\\n", v(), t());
                    return 0;
                }
                """);
        gcc(tmp, "-o", "driver", "driver.c", "-ldl");
        Map<String, String> env = Map.of("LD_LIBRARY_PATH", fakeDir.toString());
        String shimPath = shimDir.resolve("libcudnn.so.8").toString(), consumer = tmp.resolve("libconsumer.so").toString();
        ToolProcess.Result ok = Tools.run(List.of(tmp.resolve("driver").toString(), shimPath, consumer, "call"), tmp, env);
        assertEquals(0, ok.exit(), ok.output());
        assertTrue(ok.output().contains("version=91400 target=libcudnn.so.9"), ok.output());
        ToolProcess.Result missing = Tools.run(List.of(tmp.resolve("driver").toString(), shimPath, consumer, "missing"), tmp, env);
        assertNotEquals(0, missing.exit(), missing.output());
        assertTrue(missing.output().contains("cudnnRNNForwardTraining is not provided by libcudnn.so.9"), missing.output());
    }

    private static void gcc(Path dir, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("gcc"));
        cmd.addAll(List.of(args));
        ToolProcess.Result r = Tools.run(cmd, dir, Map.of());
        assertEquals(0, r.exit(), String.join(" ", cmd) + "\n" + r.output());
    }

    /** (name with version, section index) of each dynamic symbol. */
    private static List<String[]> dynSyms(Path file) throws IOException {
        ToolProcess.Result r = Tools.run(List.of("readelf", "--dyn-syms", "-W", file.toString()), null, Map.of());
        assertEquals(0, r.exit(), r.output());
        List<String[]> out = new ArrayList<>();
        for (String line : r.output().split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 8 && f[0].endsWith(":")) {
                out.add(new String[] {f[7], f[6]});
            }
        }
        return out;
    }
}
