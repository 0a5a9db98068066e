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

    /**
     * Finds a library by soname: first in the folders of {@code kiln.cuda.libs} / {@code KILN_CUDA_LIBS} (a
     * list of folders or library files, separated by ':'), then roughly as the dynamic loader does
     * (LD_LIBRARY_PATH, the ldconfig cache, the default folders and CUDA's usual ones), and last in the NVIDIA
     * wheels of Python environments ({@code site-packages/nvidia/{cudnn,cublas,cu13,...}/lib}), where many lab
     * machines have cuDNN and cuBLAS only, through PyTorch.
     */
    static final class LibraryLocator {
        static final List<String> DEFAULT_DIRS = List.of("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
                "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/cuda/lib64",
                "/usr/local/cuda/targets/x86_64-linux/lib");

        private final List<Path> explicit;
        private final List<Path> first;
        private final Map<String, Path> cache;
        private final List<Path> defaults;
        private final List<Path> wheels;

        /** Searches {@code first} (LD_LIBRARY_PATH), then the ldconfig cache, then {@code defaults}. */
        LibraryLocator(List<Path> first, Map<String, Path> ldconfigCache, List<Path> defaults) {
            this(List.of(), first, ldconfigCache, defaults, List.of());
        }

        /** Searches {@code explicit} (KILN_CUDA_LIBS), {@code first}, the cache, {@code defaults}, then {@code wheels}. */
        LibraryLocator(List<Path> explicit, List<Path> first, Map<String, Path> ldconfigCache, List<Path> defaults,
                       List<Path> wheels) {
            this.explicit = List.copyOf(explicit);
            this.first = List.copyOf(first);
            this.cache = Map.copyOf(ldconfigCache);
            this.defaults = List.copyOf(defaults);
            this.wheels = List.copyOf(wheels);
        }

        static LibraryLocator system() {
            List<Path> explicit = explicitDirs(setting("kiln.cuda.libs", "KILN_CUDA_LIBS", ""));
            Set<Path> ld = new LinkedHashSet<>();
            String env = System.getenv("LD_LIBRARY_PATH");
            if (env != null) {
                for (String d : env.split(":")) {
                    if (!d.isBlank()) {
                        ld.add(Path.of(d));
                    }
                }
            }
            List<Path> wheels = wheelLibDirs(sitePackages(pythonPrefixes(System.getenv(), Path.of(
                    System.getProperty("user.home", "/nonexistent")))));
            return new LibraryLocator(explicit, new ArrayList<>(ld), ldconfigCache(),
                    DEFAULT_DIRS.stream().map(Path::of).toList(), wheels);
        }

        /** The folders of a KILN_CUDA_LIBS value: each entry a folder, or a library file standing for its folder. */
        static List<Path> explicitDirs(String value) {
            Set<Path> out = new LinkedHashSet<>();
            for (String e : value.split(":")) {
                if (e.isBlank()) {
                    continue;
                }
                Path p = Path.of(e.trim());
                out.add(Files.isRegularFile(p) && p.getParent() != null ? p.getParent() : p);
            }
            return new ArrayList<>(out);
        }

        /**
         * Where Python environments may live: the active virtual environment and conda environment, the prefix of
         * every python3 on PATH (a venv's bin/python3 is a link: its own folder's parent is the prefix), the user's
         * ~/.local and the system prefixes.
         */
        static List<Path> pythonPrefixes(Map<String, String> env, Path home) {
            Set<Path> out = new LinkedHashSet<>();
            for (String var : List.of("VIRTUAL_ENV", "CONDA_PREFIX")) {
                String v = env.get(var);
                if (v != null && !v.isBlank()) {
                    out.add(Path.of(v));
                }
            }
            String path = env.getOrDefault("PATH", "");
            for (String d : path.split(":")) {
                if (!d.isBlank() && Files.isExecutable(Path.of(d, "python3")) && Path.of(d).getParent() != null) {
                    out.add(Path.of(d).toAbsolutePath().getParent());
                }
            }
            out.add(home.resolve(".local"));
            out.add(Path.of("/usr/local"));
            out.add(Path.of("/usr"));
            out.add(Path.of("/opt/conda"));
            return new ArrayList<>(out);
        }

        /** The site-packages / dist-packages folders under each prefix ({@code lib/python3.*}). */
        static List<Path> sitePackages(List<Path> prefixes) {
            List<Path> out = new ArrayList<>();
            for (Path prefix : prefixes) {
                for (String lib : List.of("lib", "lib64")) {
                    Path dir = prefix.resolve(lib);
                    if (!Files.isDirectory(dir)) {
                        continue;
                    }
                    try (var s = Files.list(dir)) {
                        for (Path py : s.filter(q -> q.getFileName().toString().startsWith("python3")).sorted().toList()) {
                            for (String site : List.of("site-packages", "dist-packages")) {
                                if (Files.isDirectory(py.resolve(site))) {
                                    out.add(py.resolve(site));
                                }
                            }
                        }
                    } catch (IOException e) {
                        // an unreadable folder holds no libraries for us
                    }
                }
            }
            return out;
        }

        /** The {@code nvidia/<package>/lib} folders of NVIDIA's wheels in these site-packages folders. */
        static List<Path> wheelLibDirs(List<Path> sitePackages) {
            List<Path> out = new ArrayList<>();
            for (Path site : sitePackages) {
                Path nvidia = site.resolve("nvidia");
                if (!Files.isDirectory(nvidia)) {
                    continue;
                }
                try (var s = Files.list(nvidia)) {
                    for (Path pkg : s.sorted().toList()) {
                        if (Files.isDirectory(pkg.resolve("lib"))) {
                            out.add(pkg.resolve("lib"));
                        }
                    }
                } catch (IOException e) {
                    // as above
                }
            }
            return out;
        }

        Path find(String soname) {
            List<Path> order = new ArrayList<>();
            for (Path d : explicit) {
                order.add(d.resolve(soname));
            }
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
            for (Path d : wheels) {
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
            return (explicit.isEmpty() ? "" : "KILN_CUDA_LIBS " + explicit + ", ") + "LD_LIBRARY_PATH, the ldconfig cache ("
                    + cache.size() + " entries), " + DEFAULT_DIRS + " and the NVIDIA wheels of Python environments ("
                    + (wheels.isEmpty() ? "none found" : wheels) + ")";
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
