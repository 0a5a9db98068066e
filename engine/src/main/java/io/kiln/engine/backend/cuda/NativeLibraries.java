package io.kiln.engine.backend.cuda;

import io.kiln.cuda.CudaResources;
import io.kiln.cuda.ToolProcess;
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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

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

    /** What was loaded for a family, for logs and gpu-check. */
    record Loaded(String family, String library, boolean shim) {
        @Override
        public String toString() {
            return family + ": " + (shim ? library + " through Kiln's shim" : library);
        }
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
                tryLoad(old); // by absolute path, in case the loader's own search would miss its folder
                return new Loaded(f.what(), old.toString(), false);
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
            String problem = tryLoad(p);
            if (problem != null) {
                problems.add(p + ": " + problem);
                continue;
            }
            Path shim = extractShim(f.oldSoname());
            try {
                System.load(shim.toString());
            } catch (Throwable t) {
                throw new CudaUnavailableException("Kiln's " + f.oldSoname() + " shim (" + shim + ") could not be loaded: "
                        + firstLine(String.valueOf(t.getMessage())), t);
            }
            return new Loaded(f.what(), p.toString(), true);
        }
        List<String> names = new ArrayList<>(List.of(f.oldSoname()));
        names.addAll(f.newer());
        throw new CudaUnavailableException(f.what() + " not found: none of " + String.join(", ", names) + " in "
                + locator.describe() + (problems.isEmpty() ? "" : "; found but not loadable: " + String.join("; ", problems))
                + ". Install the CUDA " + f.what() + " libraries (or add their folder to LD_LIBRARY_PATH).");
    }

    /**
     * Loads a library by absolute path; null on success, else the loader's message. cuBLAS needs cuBLASLt from
     * its own folder, which the loader may not search: that is loaded first.
     */
    private static String tryLoad(Path p) {
        String name = p.getFileName().toString();
        if (name.startsWith("libcublas.so.")) {
            Path lt = p.resolveSibling(name.replace("libcublas.", "libcublasLt."));
            if (Files.isRegularFile(lt)) {
                loadQuietly(lt);
            }
        }
        return loadQuietly(p);
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

    /**
     * Finds a library by soname roughly as the dynamic loader does: LD_LIBRARY_PATH, the ldconfig cache,
     * then the default folders (and CUDA's usual ones).
     */
    static final class LibraryLocator {
        static final List<String> DEFAULT_DIRS = List.of("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/cuda/lib64",
                "/usr/local/cuda/targets/x86_64-linux/lib");

        private final List<Path> first;
        private final Map<String, Path> cache;
        private final List<Path> defaults;

        /** Searches {@code first} (LD_LIBRARY_PATH), then the ldconfig cache, then {@code defaults}. */
        LibraryLocator(List<Path> first, Map<String, Path> ldconfigCache, List<Path> defaults) {
            this.first = List.copyOf(first);
            this.cache = Map.copyOf(ldconfigCache);
            this.defaults = List.copyOf(defaults);
        }

        static LibraryLocator system() {
            Set<Path> ld = new LinkedHashSet<>();
            String env = System.getenv("LD_LIBRARY_PATH");
            if (env != null) {
                for (String d : env.split(":")) {
                    if (!d.isBlank()) {
                        ld.add(Path.of(d));
                    }
                }
            }
            return new LibraryLocator(new ArrayList<>(ld), ldconfigCache(), DEFAULT_DIRS.stream().map(Path::of).toList());
        }

        Path find(String soname) {
            List<Path> order = new ArrayList<>();
            for (Path d : first) {
                order.add(d.resolve(soname));
            }
            Path cached = cache.get(soname);
            if (cached != null) {
                order.add(cached);
            }
            for (Path d : defaults) {
                order.add(d.resolve(soname));
            }
            for (Path p : order) {
                if (Files.isRegularFile(p)) {
                    return p;
                }
            }
            return null;
        }

        String describe() {
            return "LD_LIBRARY_PATH, the ldconfig cache (" + cache.size() + " entries) and " + DEFAULT_DIRS;
        }

        /** soname -> path of the x86-64 entries of {@code ldconfig -p}; empty when ldconfig is not there. */
        static Map<String, Path> ldconfigCache() {
            for (String exe : List.of("/sbin/ldconfig", "/usr/sbin/ldconfig", "/sbin/ldconfig.real")) {
                if (!Files.isExecutable(Path.of(exe))) {
                    continue;
                }
                try {
                    return parseLdconfig(ToolProcess.run(List.of(exe, "-p"), null, 10).output());
                } catch (IOException e) {
                    return Map.of();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return Map.of();
                }
            }
            return Map.of();
        }

        static Map<String, Path> parseLdconfig(String out) {
            Map<String, Path> m = new java.util.HashMap<>();
            for (String line : out.split("\n")) {
                String t = line.trim();
                int arrow = t.indexOf(" => ");
                int paren = t.indexOf(" (");
                if (arrow < 0 || paren < 0 || paren > arrow) {
                    continue;
                }
                String flags = t.substring(paren + 2, t.indexOf(')', paren));
                if (!flags.contains("x86-64")) {
                    continue;
                }
                m.putIfAbsent(t.substring(0, paren), Path.of(t.substring(arrow + 4).trim()));
            }
            return m;
        }
    }
}
