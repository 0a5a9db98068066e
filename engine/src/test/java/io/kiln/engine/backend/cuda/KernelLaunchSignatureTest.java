package io.kiln.engine.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every launch of one of Kiln's kernels in the CUDA backend's sources passes as many arguments as the kernel in
 * the committed PTX takes, each of the kind the PTX parameter has (a pointer or a long as .u64, an int or a
 * boolean as .u32, a float as .f32), and every kernel of the PTX is launched somewhere. cuLaunchKernel checks
 * none of this: a missing, extra or mistyped argument reads garbage on the device. Argument kinds are read
 * from the sources: a parameter's or local's declared type, {@code null} and {@code .pointer} as pointers, a
 * comparison as a boolean, any other expression (a size, a code, a ternary of codes) as an int.
 */
@Timeout(30)
class KernelLaunchSignatureTest {
    private static final Pattern ENTRY = Pattern.compile("\\.visible \\.entry (\\w+)\\((.*?)\\)", Pattern.DOTALL);
    private static final Pattern PARAM = Pattern.compile("\\.param \\.(\\w+) \\w+");
    private static final Pattern LAUNCH = Pattern.compile("\\bkernels\\.(launch|launchGrid|launchGrid2d)\\(");
    private static final Pattern DECLARATION = Pattern.compile(
            "\\b(CudaTensor|CUdeviceptr|int|long|float|double|boolean)\\s+(\\w+)\\s*[,)=]");
    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z_]\\w*");

    /** One launch in the sources: where, which kernel (a literal, or null for a name held in a variable), what kinds. */
    record Launch(String where, String kernel, List<String> kinds) {
    }

    private static Path root() {
        return Path.of(System.getProperty("kiln.repo.root", "..")).toAbsolutePath();
    }

    static Map<String, List<String>> ptxEntries(String ptx) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        Matcher e = ENTRY.matcher(ptx);
        while (e.find()) {
            List<String> types = new ArrayList<>();
            Matcher p = PARAM.matcher(e.group(2));
            while (p.find()) {
                types.add(p.group(1));
            }
            out.put(e.group(1), types);
        }
        return out;
    }

    /** The text of the call's arguments, split at the commas outside parentheses and string literals. */
    static List<String> arguments(String src, int open) {
        List<String> args = new ArrayList<>();
        int depth = 0;
        StringBuilder cur = new StringBuilder();
        for (int i = open + 1; i < src.length(); i++) {
            char c = src.charAt(i);
            if (c == '"') {
                int end = src.indexOf('"', i + 1);
                cur.append(src, i, end + 1);
                i = end;
                continue;
            }
            if (c == '(') {
                depth++;
            } else if (c == ')') {
                if (depth == 0) {
                    args.add(cur.toString().trim());
                    return args;
                }
                depth--;
            } else if (c == ',' && depth == 0) {
                args.add(cur.toString().trim());
                cur.setLength(0);
                continue;
            }
            cur.append(c);
        }
        throw new IllegalStateException("unclosed call at " + open);
    }

    /** The PTX kind of one argument expression, given the declared types of the names in scope. */
    static String kind(String expr, Map<String, String> declared) {
        String e = expr.replaceAll("\\s+", " ").trim();
        if (e.equals("null") || e.endsWith(".pointer") || e.endsWith(".pointer()")) {
            return "u64";
        }
        if (IDENTIFIER.matcher(e).matches()) {
            String type = declared.get(e);
            if (type == null) {
                throw new IllegalArgumentException("no declaration of " + e + " in scope");
            }
            return switch (type) {
                case "CudaTensor", "CUdeviceptr", "long" -> "u64";
                case "int", "boolean" -> "u32";
                case "float" -> "f32";
                default -> throw new IllegalArgumentException(e + " is a " + type + ", which no kernel takes");
            };
        }
        if (!e.contains("?") && (e.contains("!=") || e.contains("=="))) {
            return "u32";  // a boolean, passed as an int 0 or 1
        }
        return "u32";  // a size, a count or a mode code
    }

    static List<Launch> launches(Path file) throws IOException {
        String src = Files.readString(file);
        List<Launch> out = new ArrayList<>();
        Matcher m = LAUNCH.matcher(src);
        while (m.find()) {
            List<String> args = arguments(src, m.end() - 1);
            int skip = switch (m.group(1)) {
                case "launch", "launchGrid" -> 2;  // the name, then the work or the grid
                default -> 3;                        // the name, then the grid's x and y
            };
            // the names declared in the file before the call: the method's parameters and locals, the record's fields
            Map<String, String> declared = new HashMap<>();
            Matcher d = DECLARATION.matcher(src.substring(0, m.start()));
            while (d.find()) {
                declared.put(d.group(2), d.group(1));
            }
            List<String> kinds = new ArrayList<>();
            String where = file.getFileName() + ":" + (src.substring(0, m.start()).split("\n", -1).length);
            for (String a : args.subList(skip, args.size())) {
                try {
                    kinds.add(kind(a, declared));
                } catch (IllegalArgumentException ex) {
                    fail(where + ": argument '" + a + "': " + ex.getMessage());
                }
            }
            String name = args.get(0).startsWith("\"") ? args.get(0).substring(1, args.get(0).length() - 1) : null;
            out.add(new Launch(where, name, kinds));
        }
        return out;
    }

    @Test
    void everyLaunchMatchesItsKernelsParametersAndEveryKernelIsLaunched() throws IOException {
        Map<String, List<String>> ptx = ptxEntries(Files.readString(
                root().resolve("cuda-kernels/src/main/resources/io/kiln/cuda/kernels.ptx")));
        assertTrue(ptx.size() > 20, "entries found: " + ptx.keySet());
        Path dir = root().resolve("engine/src/main/java/io/kiln/engine/backend/cuda");
        List<Launch> all = new ArrayList<>();
        Set<String> literals = new TreeSet<>();
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).sorted().toList()) {
                all.addAll(launches(f));
                Matcher lit = Pattern.compile("\"(kiln_\\w+)\"").matcher(Files.readString(f));
                while (lit.find()) {
                    literals.add(lit.group(1));
                }
            }
        }
        assertTrue(all.size() > 20, "launches found: " + all);
        Set<String> direct = new TreeSet<>();
        all.stream().filter(l -> l.kernel() != null).forEach(l -> direct.add(l.kernel()));
        Set<String> launched = new TreeSet<>(direct);
        for (Launch l : all) {
            // a kernel named through a variable (kiln_add, kiln_multiply): every kernel named only in a literal
            List<String> kernels = l.kernel() != null ? List.of(l.kernel())
                    : literals.stream().filter(k -> !direct.contains(k)).toList();
            assertFalse(kernels.isEmpty(), l.where() + ": a launch whose kernel is not named anywhere");
            for (String k : kernels) {
                List<String> params = ptx.get(k);
                assertTrue(params != null, l.where() + ": " + k + " is not a kernel of kernels.ptx");
                assertEquals(params, l.kinds(), l.where() + ": the arguments of " + k + " against its PTX parameters");
                launched.add(k);
            }
        }
        assertEquals(new TreeSet<>(ptx.keySet()), launched, "kernels of kernels.ptx against the kernels launched");
    }

    /**
     * The block reductions (kiln_block_sum, kiln_bias_partials) index their shared arrays by threadIdx.x and halve
     * a stride from blockDim.x / 2: the block every launch uses must be a power of two and the arrays' size.
     */
    @Test
    void sharedReductionArraysHoldOneSlotPerThreadOfAPowerOfTwoBlock() throws IOException {
        int block = KernelLauncher.BLOCK;
        assertEquals(0, block & (block - 1), "KernelLauncher.BLOCK " + block + " is not a power of two");
        Pattern shared = Pattern.compile("__shared__\\s+\\w+\\s+(\\w+)\\[(\\d+)\\]");
        int arrays = 0;
        try (var files = Files.list(root().resolve("cuda-kernels/src/main/cuda"))) {
            for (Path f : files.filter(p -> p.toString().matches(".*\\.cuh?$")).sorted().toList()) {
                Matcher m = shared.matcher(Files.readString(f));
                while (m.find()) {
                    assertEquals(block, Integer.parseInt(m.group(2)), f.getFileName() + ": " + m.group(1));
                    arrays++;
                }
            }
        }
        assertTrue(arrays >= 5, arrays + " shared arrays found");
    }

    @Test
    void kindsAreReadFromDeclarationsAndExpressions() {
        Map<String, String> declared = Map.of("x", "CudaTensor", "lr", "float", "n", "int", "seed", "long",
                "on", "boolean", "sum", "double");
        assertEquals("u64", kind("x", declared));
        assertEquals("u64", kind("partial.pointer", declared));
        assertEquals("u64", kind("null", declared));
        assertEquals("f32", kind("lr", declared));
        assertEquals("u32", kind("n", declared));
        assertEquals("u64", kind("seed", declared));
        assertEquals("u32", kind("on", declared));
        assertEquals("u32", kind("grad != null", declared));
        assertEquals("u32", kind("v == null ? 0 : on ? 2 : 1", declared));
        assertEquals("u32", kind("Math.max(s.spatial(), 1)", declared));
        assertThrowsArgument(() -> kind("sum", declared));
        assertThrowsArgument(() -> kind("undeclared", declared));
        assertEquals(List.of("k", "a", "Math.max(b, c)", "\"x, y\""), arguments("f(k, a, Math.max(b, c), \"x, y\")", 1));
        assertEquals(Map.of("kiln_f", List.of("u32", "u64", "f32")), ptxEntries(
                ".visible .entry kiln_f(\n\t.param .u32 kiln_f_param_0,\n\t.param .u64 kiln_f_param_1,\n"
                        + "\t.param .f32 kiln_f_param_2\n)\n{\n}"));
    }

    private static void assertThrowsArgument(Runnable r) {
        try {
            r.run();
            fail("no IllegalArgumentException");
        } catch (IllegalArgumentException expected) {
            // as it should
        }
    }
}
