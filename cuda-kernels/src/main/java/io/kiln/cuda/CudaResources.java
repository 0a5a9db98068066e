package io.kiln.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Properties;

/**
 * The built artifacts of this module, as class-path resources: the PTX of Kiln's kernels and the forwarding
 * shims for newer cuBLAS and cuDNN releases (see {@code docs/cuda.md}).
 */
public final class CudaResources {
    /** The PTX built from {@code src/main/cuda} by {@code build-ptx.sh}. */
    public static final String PTX = "/io/kiln/cuda/kernels.ptx";
    /** Folder of the shims and their {@code shims.properties}. */
    public static final String SHIM_DIR = "/io/kiln/cuda/shims/";
    /** The sonames there are shims for, in the order they are loaded. */
    public static final List<String> SHIM_SONAMES = List.of("libcublas.so.11", "libcudnn.so.8");
    /** First-line marker of the PTX that records the hash of its sources. */
    public static final String PTX_HASH_PREFIX = "// kiln-cuda-sources-sha256: ";

    private CudaResources() {
    }

    /** The PTX text as bytes (not NUL-terminated). */
    public static byte[] ptx() {
        return read(PTX);
    }

    /** The shim library for one of {@link #SHIM_SONAMES}, as bytes. */
    public static byte[] shim(String soname) {
        if (!SHIM_SONAMES.contains(soname)) {
            throw new IllegalArgumentException("no shim for " + soname + "; there are shims for " + SHIM_SONAMES);
        }
        return read(SHIM_DIR + soname);
    }

    /** {@code shims.properties}: source hash, symbol counts, candidates, tool versions. */
    public static Properties shimInfo() {
        Properties p = new Properties();
        try (InputStream in = open(SHIM_DIR + "shims.properties")) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }

    private static InputStream open(String resource) throws IOException {
        InputStream in = CudaResources.class.getResourceAsStream(resource);
        if (in == null) {
            throw new IOException("resource " + resource + " is missing from the kiln-cuda-kernels jar");
        }
        return in;
    }

    private static byte[] read(String resource) {
        try (InputStream in = open(resource)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource + ": " + e.getMessage(), e);
        }
    }
}
