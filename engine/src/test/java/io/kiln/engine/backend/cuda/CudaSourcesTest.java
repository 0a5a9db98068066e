package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Every cuDNN / cuBLAS function the CUDA backend calls must exist in the shims' symbol lists, and none may be
 * one of the functions cuDNN 9 dropped (through the shim those abort the process).
 */
class CudaSourcesTest {
    private static Path root() {
        return Path.of(System.getProperty("kiln.repo.root", "..")).toAbsolutePath();
    }

    private static Set<String> lines(Path p) throws IOException {
        return Files.readAllLines(p).stream().map(String::trim).filter(s -> !s.isEmpty() && !s.startsWith("#"))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /** The functions of a JCuda class the backend's sources call ({@code JCudnn.f(}) or refer to ({@code JCudnn::f}). */
    private static Set<String> calls(String prefix) throws IOException {
        Set<String> out = new TreeSet<>();
        Path dir = root().resolve("engine/src/main/java/io/kiln/engine/backend/cuda");
        try (var files = Files.walk(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Matcher m = Pattern.compile(prefix + "(?:\\.(\\w+)\\(|::(\\w+))").matcher(Files.readString(f));
                while (m.find()) {
                    out.add(m.group(1) != null ? m.group(1) : m.group(2));
                }
            }
        }
        return out;
    }

    @Test
    void cudnnCallsExistInCudnn8AndCudnn9() throws IOException {
        Path shims = root().resolve("cuda-kernels/src/main/shims");
        Set<String> cudnn8 = lines(shims.resolve("libcudnn.so.8.syms"));
        Set<String> gone9 = lines(shims.resolve("cudnn9-missing.txt"));
        Set<String> used = calls("JCudnn");
        assertTrue(used.size() > 20, "found " + used);
        // the convolutions name their cuDNN functions as method references
        assertTrue(used.contains("cudnnFindConvolutionBackwardFilterAlgorithmEx"), "found " + used);
        for (String f : used) {
            assertTrue(cudnn8.contains(f), f + " is not a cuDNN 8 function JCudnn binds");
            assertTrue(!gone9.contains(f), f + " does not exist in cuDNN 9");
        }
    }

    @Test
    void cublasCallsExistInTheShim() throws IOException {
        Set<String> cublas = lines(root().resolve("cuda-kernels/src/main/shims/libcublas.so.11.syms"));
        for (String f : calls("JCublas2")) {
            assertTrue(cublas.contains(f) || cublas.contains(f + "_v2"), f + " is not in libcublas.so.11.syms");
        }
    }
}
