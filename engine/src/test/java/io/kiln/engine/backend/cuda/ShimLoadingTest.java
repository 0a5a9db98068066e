package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kiln.cuda.ToolProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcudnn.JCudnn;
import jcuda.jcudnn.cudnnHandle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loading path of a CUDA 13 + cuDNN 9 host, without a GPU: gcc builds stand-ins for libcublas.so.13 and
 * libcudnn.so.9 (a few functions, versioned like NVIDIA's); NativeLibraries finds them, loads them and Kiln's
 * shims; then JCuda's real JCublas2 and JCudnn natives load (they need libcublas.so.11 / libcudnn.so.8 with
 * versioned symbols) and their calls arrive in the stand-ins.
 *
 * <p>Only where there is no NVIDIA driver (CI): it loads the stand-ins into this JVM for good.
 */
class ShimLoadingTest {
    @Test
    void jcublasAndJcudnnNativesLoadThroughTheShimsAndReachTheNewLibraries(@TempDir Path tmp) throws Exception {
        assumeTrue(NativeLibraries.driverProblem() != null, "an NVIDIA driver is present: the real libraries are used");
        assumeTrue(System.getProperty("os.arch", "").matches("amd64|x86_64"), "x86-64 only");
        assumeTrue(run(tmp, "gcc", "--version") == 0, "gcc not found: the shim loading check is skipped");
        Path lib = Files.createDirectories(tmp.resolve("lib"));
        build(tmp, lib, "libcublas.so.13", """
                int cublasCreate_v2(void **h) { *h = (void *) 0x1234; return 0; }
                int cublasGetVersion_v2(void *h, int *v) { *v = (h == (void *) 0x1234) ? 130001 : -1; return 0; }
                int cublasDestroy_v2(void *h) { return h == (void *) 0x1234 ? 0 : 7; }
                """, "cublasCreate_v2; cublasGetVersion_v2; cublasDestroy_v2;");
        build(tmp, lib, "libcudnn.so.9", """
                unsigned long cudnnGetVersion(void) { return 91400; }
                int cudnnCreate(void **h) { *h = (void *) 0x99; return 0; }
                const char *cudnnGetErrorString(int s) { return s == 3 ? "STAND_IN_BAD_PARAM" : "?"; }
                """, "cudnnGetVersion; cudnnCreate; cudnnGetErrorString;");

        LibraryLocator locator = new LibraryLocator(List.of(lib), Map.of(), List.of());
        System.setProperty("kiln.cuda.cache", tmp.resolve("cache").toString());
        try {
            NativeLibraries.Loaded blas = NativeLibraries.prepare(NativeLibraries.CUBLAS, locator, "auto");
            NativeLibraries.Loaded dnn = NativeLibraries.prepare(NativeLibraries.CUDNN, locator, "auto");
            assertTrue(blas.shim() && blas.library().endsWith("libcublas.so.13"), blas.toString());
            assertTrue(dnn.shim() && dnn.library().endsWith("libcudnn.so.9"), dnn.toString());
        } finally {
            System.clearProperty("kiln.cuda.cache");
        }

        cublasHandle h = new cublasHandle();
        assertEquals(0, JCublas2.cublasCreate(h));
        int[] version = new int[1];
        assertEquals(0, JCublas2.cublasGetVersion(h, version));
        assertEquals(130001, version[0]);
        assertEquals(0, JCublas2.cublasDestroy(h));

        assertEquals(91400, JCudnn.cudnnGetVersion());
        assertEquals(0, JCudnn.cudnnCreate(new cudnnHandle()));
        assertEquals("STAND_IN_BAD_PARAM", JCudnn.cudnnGetErrorString(3));
    }

    private static void build(Path tmp, Path lib, String soname, String source, String symbols) throws Exception {
        Files.writeString(tmp.resolve(soname + ".c"), source);
        Files.writeString(tmp.resolve(soname + ".map"), soname + " { global: " + symbols + " local: *; };\n");
        int rc = run(tmp, "gcc", "-shared", "-fPIC", "-o", lib.resolve(soname).toString(), soname + ".c",
                "-Wl,-soname," + soname, "-Wl,--version-script=" + soname + ".map");
        assertEquals(0, rc, "gcc failed for " + soname);
    }

    private static int run(Path dir, String... cmd) throws IOException, InterruptedException {
        ToolProcess.Result r;
        try {
            r = ToolProcess.run(List.of(cmd), dir, 120);
        } catch (IOException e) {
            System.err.println(e.getMessage());
            return -1;
        }
        if (r.exit() != 0) {
            System.err.println(String.join(" ", cmd) + "\n" + r.output());
        }
        return r.exit();
    }
}
