package io.kiln.engine.backend.cuda;

import io.kiln.cuda.ToolProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds a library by soname: first in the folders of {@code kiln.cuda.libs} / {@code KILN_CUDA_LIBS} (a
 * list of folders or library files, separated by ':'), then roughly as the dynamic loader does
 * (LD_LIBRARY_PATH, the ldconfig cache, the default folders and CUDA's usual ones), and last in the NVIDIA
 * wheels of Python environments ({@code site-packages/nvidia/{cudnn,cublas,cu13,...}/lib}), where many lab
 * machines have cuDNN and cuBLAS only, through PyTorch.
 */
final class LibraryLocator {
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
        List<Path> explicit = explicitDirs(NativeLibraries.setting("kiln.cuda.libs", "KILN_CUDA_LIBS", ""));
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
        Map<String, Path> m = new HashMap<>();
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
