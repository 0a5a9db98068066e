package io.kiln.engine.backend.cuda;

import io.kiln.cuda.CudaResources;
import java.io.File;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * Gets the native libraries of JCuda 11.7.0 loadable on this host before JCuda touches them.
 *
 * <p>JCuda's driver native needs {@code libcuda.so.1} (any driver). JCublas2's native needs
 * {@code libcublas.so.11} and JCudnn's {@code libcudnn.so.8}, with versioned symbols. Where those exist
 * (CUDA 11.x, cuDNN 8) they are used. Otherwise the newest {@code libcublas.so.13/.12} and
 * {@code libcudnn.so.9} are loaded by absolute path, then Kiln's forwarding shim with the old soname (from
 * the kiln-cuda-kernels jar, extracted to a cache folder): when JCublas2/JCudnn then load their natives,
 * the dynamic loader finds a library with the soname they need already loaded and uses it. See
 * {@code docs/cuda.md}.
 *
 * <p>The system property {@code kiln.cuda.shims} (or {@code KILN_CUDA_SHIMS}) is {@code auto} (the
 * default), {@code always} (use the shims even where the old libraries exist) or {@code never}.
 */
final class NativeLibraries {
    /** A library family: the soname JCuda's native needs and newer ones the shim can forward to. */
    record Family(String what, String oldSoname, List<String> newer, String jcudaClass) {
    }

    static final Family CUBLAS = new Family("cuBLAS", "libcublas.so.11", List.of("libcublas.so.13", "libcublas.so.12"),
            "jcuda.jcublas.JCublas2");
    static final Family CUDNN = new Family("cuDNN", "libcudnn.so.8", List.of("libcudnn.so.9"), "jcuda.jcudnn.JCudnn");

    /**
     * What was loaded for a family, for logs and gpu-check: the library, whether through the shim, the files
     * loaded beside it (cuBLASLt, cuDNN's sub-libraries) and those that would not load (with the loader's reason).
     */
    record Loaded(String family, String library, boolean shim, List<String> alongside, List<String> failed) {
        Loaded(String family, String library, boolean shim) {
            this(family, library, shim, List.of(), List.of());
        }

        @Override
        public String toString() {
            return family + ": " + (shim ? library + " through Kiln's shim" : library)
                    + (alongside.isEmpty() ? "" : "; also loaded " + String.join(", ", alongside))
                    + (failed.isEmpty() ? "" : "; NOT loaded " + String.join("; ", failed));
        }
    }

    /**
     * cuDNN 9's sub-libraries in dependency order (graph first: the others link to it). libcudnn.so.9 dlopens
     * them by soname at cudnnCreate or the first convolution, and the loader does not search the folder
     * libcudnn.so.9 came from when that folder is not on its path (a Python wheel, KILN_CUDA_LIBS): loaded
     * here by absolute path first, they are found already loaded. Without them cuDNN fails with
     * SUBLIBRARY_LOADING_FAILED.
     */
    static final List<String> CUDNN9_PARTS = List.of("libcudnn_graph.so.9", "libcudnn_engines_precompiled.so.9",
            "libcudnn_engines_runtime_compiled.so.9", "libcudnn_heuristic.so.9", "libcudnn_ops.so.9",
            "libcudnn_cnn.so.9", "libcudnn_adv.so.9");
    /** cuDNN 8's, likewise in dependency order. */
    static final List<String> CUDNN8_PARTS = List.of("libcudnn_ops_infer.so.8", "libcudnn_ops_train.so.8",
            "libcudnn_cnn_infer.so.8", "libcudnn_cnn_train.so.8", "libcudnn_adv_infer.so.8", "libcudnn_adv_train.so.8");

    /**
     * The files to load beside {@code library}, in order, that exist in its folder: cuBLASLt before cuBLAS
     * (cuBLAS links to it), cuDNN's sub-libraries after cuDNN.
     */
    static List<Path> companions(Path library, boolean before) {
        String name = library.getFileName().toString();
        List<String> names;
        if (name.startsWith("libcublas.so.")) {
            names = before ? List.of(name.replace("libcublas.", "libcublasLt.")) : List.of();
        } else if (name.equals("libcudnn.so.9")) {
            names = before ? List.of() : CUDNN9_PARTS;
        } else if (name.equals("libcudnn.so.8")) {
            names = before ? List.of() : CUDNN8_PARTS;
        } else {
            names = List.of();
        }
        List<Path> out = new ArrayList<>();
        for (String n : names) {
            Path p = library.resolveSibling(n);
            if (Files.isRegularFile(p)) {
                out.add(p);
            }
        }
        return out;
    }

    private static String driverFailure;
    private static boolean driverChecked;
    private static List<Loaded> loaded;
    private static String librariesFailure;

    private NativeLibraries() {
    }

    /** Null when JCuda's driver native loaded (libcuda.so.1 present), else why not. Never throws. */
    static synchronized String driverProblem() {
        if (!driverChecked) {
            driverChecked = true;
            if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")
                    || !System.getProperty("os.arch", "").matches("amd64|x86_64")) {
                driverFailure = "no CUDA device found: Kiln's CUDA backend runs on Linux x86-64 only (this is "
                        + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ")";
            } else {
                try {
                    jcuda.driver.JCudaDriver.setExceptionsEnabled(false);
                } catch (Throwable t) {
                    String msg = String.valueOf(t.getMessage());
                    driverFailure = msg.contains("libcuda.so")
                            ? "no CUDA device found: the NVIDIA driver library libcuda.so.1 could not be loaded ("
                                    + lineWith(msg, "libcuda.so") + ")"
                            : "no CUDA device found: JCuda's driver library could not be loaded: " + t.getClass().getSimpleName() + ": "
                                    + firstLine(msg);
                }
            }
        }
        return driverFailure;
    }

    /**
     * Makes cuBLAS and cuDNN loadable for JCublas2/JCudnn, loading shims where needed, then loads those
     * classes. Throws CudaUnavailableException naming what is missing.
     */
    static synchronized List<Loaded> prepareLibraries() {
        if (loaded != null) {
            return loaded;
        }
        if (librariesFailure != null) {
            throw new CudaUnavailableException(librariesFailure);
        }
        String driver = driverProblem();
        if (driver != null) {
            throw new CudaUnavailableException(driver);
        }
        try {
            List<Loaded> out = new ArrayList<>();
            LibraryLocator locator = LibraryLocator.system();
            String mode = setting("kiln.cuda.shims", "KILN_CUDA_SHIMS", "auto");
            for (Family f : List.of(CUBLAS, CUDNN)) {
                out.add(prepare(f, locator, mode));
                try {
                    Class.forName(f.jcudaClass(), true, NativeLibraries.class.getClassLoader());
                } catch (Throwable t) {
                    throw new CudaUnavailableException(f.what() + ": JCuda's native for " + f.oldSoname()
                            + " could not be loaded: " + firstLine(String.valueOf(t.getMessage())), t);
                }
            }
            loaded = List.copyOf(out);
            return loaded;
        } catch (CudaUnavailableException e) {
            librariesFailure = e.getMessage();
            throw e;
        }
    }

    static Loaded prepare(Family f, LibraryLocator locator, String mode) {
        if (!mode.equals("always")) {
            Path old = locator.find(f.oldSoname());
            if (old != null) {
                // by absolute path, in case the loader's own search would miss its folder
                Loaded l = loadWithCompanions(f, old, false);
                return l != null ? l : new Loaded(f.what(), old.toString(), false);
            }
        }
        if (mode.equals("never")) {
            throw new CudaUnavailableException(f.what() + " not found: no " + f.oldSoname() + " in " + locator.describe()
                    + " (and kiln.cuda.shims=never forbids forwarding to " + String.join(" or ", f.newer()) + ")");
        }
        List<String> problems = new ArrayList<>();
        for (String soname : f.newer()) {
            Path p = locator.find(soname);
            if (p == null) {
                continue;
            }
            Loaded found = loadWithCompanions(f, p, true);
            if (found == null) {
                problems.add(p + ": " + loadQuietly(p));
                continue;
            }
            Path shim = extractShim(f.oldSoname());
            try {
                System.load(shim.toString());
            } catch (Throwable t) {
                throw new CudaUnavailableException("Kiln's " + f.oldSoname() + " shim (" + shim + ") could not be loaded: "
                        + firstLine(String.valueOf(t.getMessage())), t);
            }
            return found;
        }
        List<String> names = new ArrayList<>(List.of(f.oldSoname()));
        names.addAll(f.newer());
        throw new CudaUnavailableException(f.what() + " not found: none of " + String.join(", ", names) + " in "
                + locator.describe() + (problems.isEmpty() ? "" : "; found but not loadable: " + String.join("; ", problems))
                + ". Install the CUDA " + f.what() + " libraries, or name their folder in KILN_CUDA_LIBS (or LD_LIBRARY_PATH).");
    }

    /**
     * Loads a library by absolute path with its companions ({@link #companions}); null when the library itself
     * would not load. A companion that would not load is reported, not fatal: the library may find its own.
     */
    private static Loaded loadWithCompanions(Family f, Path p, boolean shim) {
        List<String> alongside = new ArrayList<>(), failed = new ArrayList<>();
        for (Path c : companions(p, true)) {
            load(c, alongside, failed);
        }
        if (loadQuietly(p) != null) {
            return null;
        }
        for (Path c : companions(p, false)) {
            load(c, alongside, failed);
        }
        return new Loaded(f.what(), p.toString(), shim, List.copyOf(alongside), List.copyOf(failed));
    }

    private static void load(Path p, List<String> alongside, List<String> failed) {
        String problem = loadQuietly(p);
        if (problem == null) {
            alongside.add(p.getFileName().toString());
        } else {
            failed.add(p + ": " + problem);
        }
    }

    private static String loadQuietly(Path p) {
        try {
            System.load(p.toAbsolutePath().toString());
            return null;
        } catch (Throwable t) {
            return firstLine(String.valueOf(t.getMessage()));
        }
    }

    /** Writes the shim to a per-user cache folder named after its hash (once) and returns its path. */
    static Path extractShim(String soname) {
        byte[] bytes = CudaResources.shim(soname);
        String hash = sha256(bytes).substring(0, 16);
        String user = System.getProperty("user.name", "user").replaceAll("[^A-Za-z0-9_.-]", "_");
        Path dir = Path.of(setting("kiln.cuda.cache", "KILN_CUDA_CACHE",
                System.getProperty("java.io.tmpdir") + File.separator + "kiln-cuda-" + user), hash);
        Path file = dir.resolve(soname);
        try {
            if (Files.isRegularFile(file) && Files.size(file) == bytes.length
                    && sha256(Files.readAllBytes(file)).startsWith(hash)) {
                return file;
            }
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, soname, ".tmp");
            Files.write(tmp, bytes);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            return file;
        } catch (IOException e) {
            throw new CudaUnavailableException("cannot write Kiln's " + soname + " shim to " + dir + ": " + e.getMessage()
                    + " (set -Dkiln.cuda.cache=DIR to a writable folder)", e);
        }
    }

    static String setting(String property, String env, String def) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) {
            v = System.getenv(env);
        }
        return v == null || v.isBlank() ? def : v.trim();
    }

    /** The part after the last ": " of the first line that mentions {@code what} (the loader's reason). */
    static String lineWith(String s, String what) {
        for (String line : s.split("\n")) {
            int i = line.indexOf(what);
            if (i >= 0) {
                return line.substring(i).trim();
            }
        }
        return firstLine(s);
    }

    static String firstLine(String s) {
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    private static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
