package io.kiln.service.devices;

import io.kiln.engine.backend.cuda.CudaDevices;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Device facts from {@code nvidia-smi --query-gpu}, which reads them through NVML: no CUDA context is created,
 * so reading them costs no GPU memory, shows the memory the workers use, and works while a worker holds a GPU
 * in EXCLUSIVE_PROCESS mode.
 */
final class NvidiaSmi {
    /** The query, in the order {@link #parse} reads the columns. */
    static final List<String> COMMAND = List.of("nvidia-smi",
            "--query-gpu=index,name,memory.total,memory.used,memory.free,utilization.gpu,compute_cap",
            "--format=csv,noheader,nounits");

    /** One GPU as nvidia-smi describes it; utilization in percent, -1 when it is not reported. */
    record Reading(CudaDevices.Gpu gpu, long usedBytes, int utilizationPercent) {
    }

    private NvidiaSmi() {
    }

    /**
     * Parses the query's output, one GPU per line: {@code 0, NVIDIA H200, 143771, 1021, 142750, 3, 9.0}
     * (memory in MiB). "[N/A]" or "[Not Supported]" values read as unknown (-1, or capability 0.0). Throws
     * IllegalArgumentException naming the line when a line does not have the seven columns.
     */
    static List<Reading> parse(String output) {
        List<Reading> out = new ArrayList<>();
        for (String line : output.split("\n")) {
            if (line.isBlank()) {
                continue;
            }
            String[] f = line.split(",");
            if (f.length < 7) {
                throw new IllegalArgumentException("nvidia-smi line with " + f.length + " columns, 7 expected: " + line.trim());
            }
            // a name may hold commas: the columns after it are the last five
            int last = f.length;
            String name = String.join(",", java.util.Arrays.copyOfRange(f, 1, last - 5)).trim();
            int index = Integer.parseInt(f[0].trim());
            long total = mib(f[last - 5]), used = mib(f[last - 4]), free = mib(f[last - 3]);
            int util = (int) number(f[last - 2]);
            String cap = f[last - 1].trim();
            int major = 0, minor = 0;
            int dot = cap.indexOf('.');
            if (dot > 0 && number(cap) >= 0) {
                major = Integer.parseInt(cap.substring(0, dot));
                minor = Integer.parseInt(cap.substring(dot + 1));
            }
            out.add(new Reading(new CudaDevices.Gpu(index, name, total, free, major, minor, 0), used, util));
        }
        return out;
    }

    private static long mib(String v) {
        double n = number(v);
        return n < 0 ? -1 : (long) n << 20;
    }

    /** A number, or -1 for nvidia-smi's "[N/A]", "[Not Supported]" and the like. */
    private static double number(String v) {
        String t = v.trim().toLowerCase(Locale.ROOT);
        if (t.isEmpty() || t.startsWith("[") || t.startsWith("n/a")) {
            return -1;
        }
        try {
            return Double.parseDouble(t);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
