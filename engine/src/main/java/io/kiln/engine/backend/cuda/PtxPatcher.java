package io.kiln.engine.backend.cuda;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Adapts Kiln's PTX (built by nvcc 13 for {@code .version 9.0}, {@code .target sm_75}) for a driver or GPU
 * that rejects it: drivers older than CUDA 13 do not know PTX ISA 9.0, and GPUs older than Turing (e.g. a
 * GTX 1050 Ti, sm_61) cannot run code for sm_75. The kernels use only instructions of PTX ISA 6.3 (checked
 * by PtxUpToDateTest with ptxas), so the header can be lowered to ISA 6.3, which every driver since CUDA
 * 10.0 accepts, and the target to the GPU's own architecture.
 */
final class PtxPatcher {
    static final String FALLBACK_ISA = "6.3";
    private static final Pattern VERSION = Pattern.compile("(?m)^\\.version (\\d+)\\.(\\d+)\\s*$");
    private static final Pattern TARGET = Pattern.compile("(?m)^\\.target sm_(\\d+)(.*)$");

    private PtxPatcher() {
    }

    /** The {@code .target sm_XY} of the PTX as XY, or -1. */
    static int target(String ptx) {
        Matcher m = TARGET.matcher(ptx);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** The PTX with ISA 6.3 and, when the GPU's architecture is older than the target, that architecture. */
    static String lower(String ptx, int major, int minor) {
        String out = VERSION.matcher(ptx).replaceFirst(".version " + FALLBACK_ISA);
        int sm = major * 10 + minor;
        int target = target(out);
        if (target > sm && sm > 0) {
            out = TARGET.matcher(out).replaceFirst(".target sm_" + sm + "$2");
        }
        return out;
    }
}
